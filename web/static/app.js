// The messenger's web client: plain modules (`js/`), no build step. It
// speaks the documented protocol (docs/protocol.md): REST for accounts,
// chats, history and people; one WebSocket for everything live. The
// session is the HttpOnly cookie the edge sets at login; this page is
// served by the edge, so the cookie and the socket work on its own origin.

import { $ } from "./js/dom.js";
import { api } from "./js/api.js";
import { state, forgetLocal, session } from "./js/state.js";
import { watchNetwork } from "./js/socket.js";
import { markRead, loadOlder } from "./js/messages.js";
import { wireComposer } from "./js/composer.js";
import { wireFiles } from "./js/files.js";
import { wireSearch } from "./js/search.js";
import { wireGroups } from "./js/groups.js";
import { wireNotifications } from "./js/notify.js";
import { wireDetails } from "./js/details.js";
import { start, showLogin, closeChat, goBack, watchHistory } from "./js/views.js";

function wireLogin() {
  let registering = false;
  $("toggle-register").onclick = () => {
    registering = !registering;
    $("name-row").hidden = !registering;
    $("name").required = registering;
    $("login-submit").textContent = registering ? "Create account" : "Log in";
    $("toggle-register").textContent = registering ? "I have an account" : "Create an account";
    $("login-hint").textContent = registering ? "Create your account" : "Log in to your account";
    $("password").autocomplete = registering ? "new-password" : "current-password";
  };
  $("login-form").onsubmit = async (event) => {
    event.preventDefault();
    const [email, password] = [$("email").value, $("password").value];
    $("login-error").textContent = "";
    try {
      if (registering) await api("/users", { method: "POST", body: { name: $("name").value, email, password } });
      const me = await api("/auth/login", { method: "POST", body: { email, password } });
      $("password").value = "";
      await start(me);
    } catch (error) {
      $("login-error").textContent = error.message;
    }
  };
}

function wireApp() {
  $("logout").onclick = async () => {
    state.loggingOut = true;
    try {
      await api("/auth/logout", { method: "POST" });
    } finally {
      forgetLocal();
      closeChat();
      showLogin();
    }
  };
  $("messages").onscroll = () => {
    if ($("messages").scrollTop < 80) loadOlder();
  };
  $("back").onclick = goBack;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.open) markRead(state.open);
  });
  watchNetwork();
  watchHistory();
  wireComposer();
  wireFiles();
  wireSearch();
  wireGroups();
  wireNotifications();
  wireDetails();
}

// The page's state, for looking into it from the browser's console.
window.messenger = { state, socket: () => state.socket };

wireLogin();
wireApp();
// Without a login in this browser, straight to the form; with one, the
// session is checked (it may have ended meanwhile).
if (session.known()) api("/me").then(start, () => showLogin());
else showLogin();
