// Mounts the unmodified rasa-webchat widget against this gateway (same origin, path /socket.io/).
(function () {
  "use strict";
  var borrowerId = new URLSearchParams(window.location.search).get("borrower_id");
  if (!borrowerId) {
    document.getElementById("missing-borrower").style.display = "block";
    return;
  }
  // The widget resumes whatever session this tab stored; a different borrower in the same tab starts afresh.
  if (window.sessionStorage.getItem("demo_webchat_borrower") !== borrowerId) {
    window.sessionStorage.removeItem("chat_session");  // rasa-webchat 1.0.1's storage key
    window.sessionStorage.setItem("demo_webchat_borrower", borrowerId);
  }
  window.WebChat.default({
    socketUrl: window.location.origin,
    socketPath: "/socket.io/",
    customData: { borrower_id: borrowerId },
    initPayload: "/start_conversation",
    title: "还款服务助手",
    subtitle: "自动助手 · 对话录音",
    inputTextFieldHint: "请输入消息…",
    connectingText: "正在连接…",
    showFullScreenButton: true,
    // The chat names a debt: keep it for this tab only (survives a reload, not closing the browser).
    params: { storage: "session" }
  }, null);
})();
