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
  chart: "History", previousDay: "Previous day", nextDay: "Next day",
  average: "Average", minimum: "Min", maximum: "Max", readings: "readings",
  emptyDay: "No readings on this day.",
  users: "Users", addUser: "Add user", role: "Role", admin: "Admin", viewer: "Viewer", delete: "Delete", you: "you",
  captureIntervals: "Capture intervals", imageDelay: "Image interval (s)", temphumDelay: "Reading interval (s)", statusDelay: "Status interval (s)",
  save: "Save", saved: "Saved.",
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
  skip: "Skip to content", openFullSize: "Open the image full size", recentFrames: "Recent frames",
  dewPoint: "Dew point", view_day: "Day", view_week: "Week", view_month: "Month", pickDay: "Choose a day",
  emptyRange: "No readings in this period.",
  deviceOnline: "Device online", deviceOffline: "Device offline", deviceNeverSeen: "No device has sent anything yet",
  lastHeard: "last heard {age} ago",
  sentToDevices: "Sent to {n} connected device(s).", noDeviceConnected: "No device is connected now; a device gets these intervals when it connects.",
  devicesInSync: "Connected devices: {n}, all have the current intervals.",
  unitS: "s", unitMin: "min", unitH: "h", unitD: "d",
  noSuchUser: "No such user.", cannotDeleteSelf: "You cannot delete your own account.", cannotDeleteLastAdmin: "You cannot delete the last admin.",
  wrongCurrentPassword: "Current password is wrong.", usernameRule: "Username must be 1 to 64 letters, digits or . _ @ -",
  userExists: "User \"{name}\" already exists.", passwordTooShort: "Password must be at least {n} characters.", passwordTooLong: "Password must be at most {n} bytes.",
  tokenNameRule: "Name must be 1 to {n} characters.", noSuchToken: "No such token.",
  csrfExpired: "This form has expired or did not come from this site. Reload the page and try again.",
  serverError: "Something went wrong; it has been logged.", badDayOrView: "The day must be a date written YYYY-MM-DD and the view one of day, week, month.",
  intervalWhole: "Must be a whole number of seconds, at least {min}.", intervalMin: "Must be at least {min} seconds.", intervalMax: "Must be at most {max} seconds (one day).",
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
  chart: "Historia", previousDay: "Edellinen päivä", nextDay: "Seuraava päivä",
  average: "Keskiarvo", minimum: "Min", maximum: "Max", readings: "mittausta",
  emptyDay: "Ei mittauksia tältä päivältä.",
  users: "Käyttäjät", addUser: "Lisää käyttäjä", role: "Rooli", admin: "Ylläpitäjä", viewer: "Katselija", delete: "Poista", you: "sinä",
  captureIntervals: "Kuvausvälit", imageDelay: "Kuvaväli (s)", temphumDelay: "Mittausväli (s)", statusDelay: "Tilan väli (s)",
  save: "Tallenna", saved: "Tallennettu.",
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
  skip: "Siirry sisältöön", openFullSize: "Avaa kuva täysikokoisena", recentFrames: "Viimeisimmät kuvat",
  dewPoint: "Kastepiste", view_day: "Päivä", view_week: "Viikko", view_month: "Kuukausi", pickDay: "Valitse päivä",
  emptyRange: "Ei mittauksia tältä ajalta.",
  deviceOnline: "Laite yhteydessä", deviceOffline: "Laite ei yhteydessä", deviceNeverSeen: "Mikään laite ei ole vielä lähettänyt tietoja",
  lastHeard: "viimeksi {age} sitten",
  sentToDevices: "Lähetetty {n} yhdistetylle laitteelle.", noDeviceConnected: "Yhtään laitetta ei ole nyt yhdistetty; laite saa välit yhdistäessään.",
  devicesInSync: "Yhdistettyjä laitteita: {n}, kaikilla on nykyiset välit.",
  unitS: "s", unitMin: "min", unitH: "h", unitD: "pv",
  noSuchUser: "Käyttäjää ei ole.", cannotDeleteSelf: "Et voi poistaa omaa tiliäsi.", cannotDeleteLastAdmin: "Viimeistä ylläpitäjää ei voi poistaa.",
  wrongCurrentPassword: "Nykyinen salasana on väärä.", usernameRule: "Käyttäjätunnuksessa voi olla 1–64 kirjainta, numeroa tai merkkejä . _ @ -",
  userExists: "Käyttäjä \"{name}\" on jo olemassa.", passwordTooShort: "Salasanassa on oltava vähintään {n} merkkiä.", passwordTooLong: "Salasana saa olla enintään {n} tavua.",
  tokenNameRule: "Nimessä on oltava 1–{n} merkkiä.", noSuchToken: "Avainta ei ole.",
  csrfExpired: "Lomake on vanhentunut tai se ei tullut tältä sivustolta. Lataa sivu uudelleen ja yritä uudestaan.",
  serverError: "Jokin meni vikaan; virhe on kirjattu.", badDayOrView: "Päivän on oltava muotoa VVVV-KK-PP ja näkymän päivä, viikko tai kuukausi.",
  intervalWhole: "Anna kokonainen määrä sekunteja, vähintään {min}.", intervalMin: "Vähintään {min} sekuntia.", intervalMax: "Enintään {max} sekuntia (vuorokausi).",
};

export const dictionaries = { en, fi } as const;

/** A message a service returns: a dictionary key and the values for its {placeholders}. */
export type Message = { key: keyof Dictionary; vars?: Record<string, string | number> };
export const msg = (key: keyof Dictionary, vars?: Record<string, string | number>): Message => ({ key, vars });

export function translate(t: Dictionary, m: Message): string {
  return String(t[m.key]).replace(/\{(\w+)\}/g, (whole, name: string) => (m.vars && name in m.vars ? String(m.vars[name]) : whole));
}
export type Locale = keyof typeof dictionaries;
export const dictionary = (locale: Locale): Dictionary => dictionaries[locale];
