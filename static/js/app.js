// Behaviour the templates ask for with data- attributes. The Content-Security-Policy allows scripts from
// our own static files only, so no template carries an inline <script> or an on*= handler.
"use strict";

// <form data-confirm="Remove this goal?">: ask before a destructive submit.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// <input data-select-on-focus>: a key or secret shown once is selected whole, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input[data-select-on-focus]")) {
    event.target.select();
  }
});

// <select data-autosubmit>: a choice that reloads the page with it.
document.addEventListener("change", (event) => {
  if (event.target.matches("[data-autosubmit]") && event.target.form) {
    event.target.form.requestSubmit();
  }
});
