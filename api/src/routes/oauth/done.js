// The OAuth callback page's script: tells the Switchboard window that opened
// the sign-in popup how it ended (postMessage to this origin only), and, in
// case the provider's opener policy cut the popup off from its opener, on a
// BroadcastChannel of this origin too; then closes the popup.
"use strict";
(function () {
  const body = document.body;
  const message = {
    type: "switchboard:oauth",
    status: body.dataset.status,
    target: body.dataset.target,
  };
  try {
    if (window.opener && !window.opener.closed) {
      window.opener.postMessage(message, window.location.origin);
    }
  } catch (_) {
    // No opener (cut by the provider's Cross-Origin-Opener-Policy).
  }
  try {
    const channel = new BroadcastChannel("switchboard-oauth");
    channel.postMessage(message);
    channel.close();
  } catch (_) {
    // BroadcastChannel unavailable: the UI also polls the connector.
  }
  if (message.status === "ok") {
    setTimeout(function () { window.close(); }, 300);
  }
})();
