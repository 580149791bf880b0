// Mounts the unmodified rasa-webchat widget against this gateway (same origin, path /socket.io/).
// The borrower arrives with the signed link the lender sent (python -m bot.links), never a bare id.
(function () {
  "use strict";
  var link = new URLSearchParams(window.location.search).get("link");
  if (!link) {
    document.getElementById("missing-link").hidden = false;
    return;
  }
  // The widget resumes whatever session this tab stored; a different link in the same tab starts afresh.
  if (window.sessionStorage.getItem("demo_webchat_link") !== link) {
    window.sessionStorage.removeItem("chat_session");  // rasa-webchat 1.0.1's storage key
    window.sessionStorage.setItem("demo_webchat_link", link);
  }
  window.WebChat.default({
    socketUrl: window.location.origin,
    socketPath: "/socket.io/",
    customData: { borrower_link: link },
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
