// Lists the demo messenger's reminders per borrower (newest first) and refreshes every few seconds.
// Everything is written as text (never as HTML); a link is made clickable only when it is an http(s) address.
(function () {
  "use strict";
  var inbox = document.getElementById("inbox");
  var borrower = document.getElementById("borrower");
  var empty = document.getElementById("empty");
  var REFRESH_MS = 5000;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clickable(link) {
    try {
      var url = new URL(link);
      return url.protocol === "http:" || url.protocol === "https:";
    } catch (error) {
      return false;
    }
  }

  function render(messages) {
    inbox.replaceChildren();
    empty.style.display = messages.length ? "none" : "block";
    var groups = {};
    var order = [];
    messages.forEach(function (message) {
      if (!groups[message.borrower_id]) {
        groups[message.borrower_id] = [];
        order.push(message.borrower_id);
      }
      groups[message.borrower_id].push(message);
    });
    order.forEach(function (borrowerId) {
      var section = element("section", "borrower");
      section.appendChild(element("h2", "", borrowerId));
      groups[borrowerId].forEach(function (message) {
        var card = element("article", "message");
        var when = new Date(message.sent_at).toLocaleString();
        card.appendChild(element("div", "meta", message.channel.toUpperCase() + " → " + message.recipient + " · " + when));
        card.appendChild(element("div", "text", message.text));
        if (clickable(message.link)) {
          var anchor = element("a", "link", "打开对话 Open the chat");
          anchor.href = message.link;
          anchor.rel = "noopener noreferrer";
          card.appendChild(anchor);
        }
        section.appendChild(card);
      });
      inbox.appendChild(section);
    });
  }

  function load() {
    var wanted = borrower.value.trim();
    var query = wanted ? "?borrower_id=" + encodeURIComponent(wanted) : "";
    fetch("/demo/inbox/messages" + query, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { messages: [] }; })
      .then(function (body) { render(body.messages || []); })
      .catch(function () { /* the next refresh tries again */ });
  }

  document.getElementById("refresh").addEventListener("click", load);
  borrower.addEventListener("change", load);
  load();
  window.setInterval(load, REFRESH_MS);
})();
