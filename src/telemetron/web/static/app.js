// The web app's only script (no inline scripts: the Content-Security-Policy forbids them).
// Forms with data-confirm ask before submitting (revoking an API key).
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
