// Fluent UI web components and their theme. Inside Office the theme follows Office's colours
// (Office.context.officeTheme); elsewhere it is Fluent's web light or dark theme.
const config = JSON.parse(document.getElementById("taskpane-config").textContent);

// Office reports colours as #RRGGBB. A dark body background selects Fluent's dark theme.
function isDark(hex) {
  const match = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || "");
  if (!match) return window.matchMedia("(prefers-color-scheme: dark)").matches;
  const [red, green, blue] = match.slice(1).map((part) => parseInt(part, 16));
  // Relative luminance weights of ITU-R BT.709.
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue < 128;
}

function officeTheme() {
  try {
    return (typeof Office !== "undefined" && Office.context && Office.context.officeTheme) || null;
  } catch {
    return null;
  }
}

const [{ setTheme }, tokens] = await Promise.all([
  import(config.libraries.fluent),
  import(config.libraries.fluentTokens),
]);
if (window.mailgripOutlook) await window.mailgripOutlook.ready;
const office = officeTheme();
const dark = isDark(office && office.bodyBackgroundColor);
setTheme({
  ...(dark ? tokens.webDarkTheme : tokens.webLightTheme),
  ...(office ? {
    colorNeutralBackground1: office.bodyBackgroundColor,
    colorNeutralForeground1: office.bodyForegroundColor,
  } : {}),
});
const root = document.documentElement;
root.classList.toggle("theme-dark", dark);
root.classList.toggle("in-office", Boolean(office));
if (office) {
  root.style.setProperty("--office-body-background", office.bodyBackgroundColor);
  root.style.setProperty("--office-body-foreground", office.bodyForegroundColor);
}
// Tests and styles can tell when the theme is in place.
root.classList.add("theme-ready");
