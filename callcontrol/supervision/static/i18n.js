// The wallboard's words, French first (the town hall's language), English on the switch.
export const MESSAGES = {
  fr: {
    title: "Tableau des lignes", logout: "Se déconnecter", token: "Jeton d'accès", login: "Se connecter",
    hotlines: "Lignes", agents: "Agents", agent: "Agent", state: "État", since: "Depuis", cancel: "Annuler",
    waiting: "en attente", longest: "attente la plus longue", available: "disponibles", busy: "occupés",
    away: "absents", service_level: "niveau de service", sl_hint: "décrochés en moins de {s} s aujourd'hui",
    no_call_yet: "aucun appel", nobody_waits: "Personne n'attend", on_call: "astreinte",
    nobody_reachable: "Personne de joignable", caller: "Appelant", position: "n°",
    redirect: "Rediriger", move: "Déplacer", pickup: "Décrocher", voicemail: "Messagerie",
    redirect_to: "Rediriger vers un agent", move_to: "Déplacer vers la ligne",
    connecting: "Connexion…", live: "En direct", reconnecting: "Reconnexion…",
    bad_token: "Jeton refusé", done: "Fait", failed: "Échec",
    st_available: "disponible", st_busy: "occupé", st_away: "absent",
    s_available: "disponible", s_ringing: "sonne", s_on_call: "en ligne", s_wrap_up: "post-appel",
    s_paused: "en pause", s_logged_out: "déconnecté", unreachable: "injoignable",
    r_viewer: "lecture", r_switchboard: "standard", r_supervisor: "superviseur",
    tickets: "Demandes à suivre", open_tickets: "demandes à suivre", tickets_hint: "messages et rappels non traités",
    k_voicemail: "Message", k_callback_late: "Rappel en retard", k_callback_failed: "Rappel échoué",
    t_new: "nouvelle", assigned_to: "attribuée à", assign: "Attribuer", ticket_done: "Traitée", note: "Note",
    listen: "Écouter", no_ticket: "Aucune demande en attente", locale: "fr-FR",
    lang_switch: "English",
  },
  en: {
    title: "Hotline wallboard", logout: "Log out", token: "Access token", login: "Log in",
    hotlines: "Hotlines", agents: "Agents", agent: "Agent", state: "State", since: "Since", cancel: "Cancel",
    waiting: "waiting", longest: "longest wait", available: "available", busy: "busy",
    away: "away", service_level: "service level", sl_hint: "answered within {s} s today",
    no_call_yet: "no call yet", nobody_waits: "Nobody is waiting", on_call: "on call",
    nobody_reachable: "Nobody reachable", caller: "Caller", position: "#",
    redirect: "Redirect", move: "Move", pickup: "Pick up", voicemail: "Voicemail",
    redirect_to: "Redirect to an agent", move_to: "Move to hotline",
    connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…",
    bad_token: "Token refused", done: "Done", failed: "Failed",
    st_available: "available", st_busy: "busy", st_away: "away",
    s_available: "available", s_ringing: "ringing", s_on_call: "on a call", s_wrap_up: "wrap-up",
    s_paused: "paused", s_logged_out: "logged out", unreachable: "unreachable",
    r_viewer: "read only", r_switchboard: "switchboard", r_supervisor: "supervisor",
    tickets: "Follow-up requests", open_tickets: "to follow up", tickets_hint: "messages and callbacks not handled",
    k_voicemail: "Message", k_callback_late: "Late callback", k_callback_failed: "Failed callback",
    t_new: "new", assigned_to: "assigned to", assign: "Assign", ticket_done: "Done", note: "Note",
    listen: "Listen", no_ticket: "No request waiting", locale: "en-GB",
    lang_switch: "Français",
  },
};

export function translator(lang) {
  const words = MESSAGES[lang] || MESSAGES.fr;
  return (key, vars = {}) => (words[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}
