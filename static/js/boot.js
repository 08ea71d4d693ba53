// Runs first, in <head>: tells the stylesheets that JavaScript runs (html.js), so what only a script
// can drive (the phone menu, collapsible panels) is laid out for it from the first paint.
document.documentElement.classList.add("js");
