if (new URLSearchParams(window.location.search).has("failed"))
  document.getElementById("failed").hidden = false;
