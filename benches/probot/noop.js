// The Probot peer of benches/intake_vs_probot.sh: a no-op app on every event. Probot
// still reads the body, verifies X-Hub-Signature-256 and parses the JSON before it
// answers; nothing is stored and no GitHub call is made.
/** @param {import('probot').Probot} app */
export default (app) => {
  app.onAny(async () => {});
};
