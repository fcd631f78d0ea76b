// Owns every user-facing string: one dictionary per locale, English the reference.
const en = {
  appName: "layerwatch",
  login: "Log in", logout: "Log out", username: "Username", password: "Password", rememberMe: "Keep me logged in for 30 days",
  badLogin: "Wrong username or password.",
  tooManyLogins: "Too many failed logins. Try again in {minutes} min.",
  home: "Home", dashboard: "Printer", settings: "Settings",
  homeIntro: "Your printer, its camera and its room at a glance.",
  tileDashboard: "Printer dashboard", tileDashboardText: "Live camera, temperature, humidity and status.",
  tileSettings: "Settings", tileSettingsText: "Users and capture intervals.",
  liveImage: "Camera", temperature: "Temperature", humidity: "Humidity", status: "Status",
  noData: "No data yet", noImage: "No image yet",
  chart: "History", previousDay: "Previous day", nextDay: "Next day", today: "Today",
  average: "Average", minimum: "Min", maximum: "Max", readings: "readings",
  emptyDay: "No readings on this day.",
  users: "Users", addUser: "Add user", role: "Role", admin: "Admin", viewer: "Viewer", delete: "Delete", you: "you",
  captureIntervals: "Capture intervals", imageDelay: "Image interval (s)", temphumDelay: "Reading interval (s)", statusDelay: "Status interval (s)",
  save: "Save", saved: "Saved.", intervalsSaved: "Intervals saved and sent to connected devices.",
  userAdded: "User added.", userDeleted: "User deleted.",
  changePassword: "Change your password", currentPassword: "Current password", newPassword: "New password", passwordChanged: "Password changed. Your other sessions were logged out.",
  forbidden: "Only an admin can change this.",
  notFound: "Not found.",
  connLive: "Live", connReconnecting: "Reconnecting…", connOffline: "Offline",
  badRequest: "Bad request",
  deviceTokens: "Device tokens", deviceTokensHelp: "A device can connect with a token instead of a user's login. A token can only send readings, frames and statuses.",
  tokenName: "Device name", createToken: "Create token", revoke: "Revoke", lastUsed: "last used", neverUsed: "never used",
  tokenShownOnce: "copy this token now; it is shown only once.", tokenRevoked: "Token revoked; its device was disconnected.",
  recentProblems: "Recent warnings and errors", noProblems: "Nothing to report.",
};

export type Dictionary = typeof en;

const fi: Dictionary = {
  appName: "layerwatch",
  login: "Kirjaudu", logout: "Kirjaudu ulos", username: "Käyttäjätunnus", password: "Salasana", rememberMe: "Muista minut 30 päivää",
  badLogin: "Väärä käyttäjätunnus tai salasana.",
  tooManyLogins: "Liian monta epäonnistunutta kirjautumista. Yritä uudelleen {minutes} min kuluttua.",
  home: "Etusivu", dashboard: "Tulostin", settings: "Asetukset",
  homeIntro: "Tulostin, sen kamera ja huone yhdellä silmäyksellä.",
  tileDashboard: "Tulostimen näkymä", tileDashboardText: "Kamerakuva, lämpötila, kosteus ja tila reaaliajassa.",
  tileSettings: "Asetukset", tileSettingsText: "Käyttäjät ja kuvausvälit.",
  liveImage: "Kamera", temperature: "Lämpötila", humidity: "Kosteus", status: "Tila",
  noData: "Ei vielä tietoja", noImage: "Ei vielä kuvaa",
  chart: "Historia", previousDay: "Edellinen päivä", nextDay: "Seuraava päivä", today: "Tänään",
  average: "Keskiarvo", minimum: "Min", maximum: "Max", readings: "mittausta",
  emptyDay: "Ei mittauksia tältä päivältä.",
  users: "Käyttäjät", addUser: "Lisää käyttäjä", role: "Rooli", admin: "Ylläpitäjä", viewer: "Katselija", delete: "Poista", you: "sinä",
  captureIntervals: "Kuvausvälit", imageDelay: "Kuvaväli (s)", temphumDelay: "Mittausväli (s)", statusDelay: "Tilan väli (s)",
  save: "Tallenna", saved: "Tallennettu.", intervalsSaved: "Välit tallennettu ja lähetetty yhdistetyille laitteille.",
  userAdded: "Käyttäjä lisätty.", userDeleted: "Käyttäjä poistettu.",
  changePassword: "Vaihda salasanasi", currentPassword: "Nykyinen salasana", newPassword: "Uusi salasana", passwordChanged: "Salasana vaihdettu. Muut istuntosi kirjattiin ulos.",
  forbidden: "Vain ylläpitäjä voi muuttaa tätä.",
  notFound: "Ei löytynyt.",
  connLive: "Yhteys", connReconnecting: "Yhdistetään…", connOffline: "Ei yhteyttä",
  badRequest: "Virheellinen pyyntö",
  deviceTokens: "Laiteavaimet", deviceTokensHelp: "Laite voi yhdistää avaimella käyttäjän kirjautumisen sijaan. Avaimella voi vain lähettää mittauksia, kuvia ja tiloja.",
  tokenName: "Laitteen nimi", createToken: "Luo avain", revoke: "Peru", lastUsed: "viimeksi käytetty", neverUsed: "ei käytetty",
  tokenShownOnce: "kopioi avain nyt; se näytetään vain kerran.", tokenRevoked: "Avain peruttu; laite katkaistiin.",
  recentProblems: "Viimeisimmät varoitukset ja virheet", noProblems: "Ei raportoitavaa.",
};

export const dictionaries = { en, fi } as const;
export type Locale = keyof typeof dictionaries;
export const dictionary = (locale: Locale): Dictionary => dictionaries[locale];
