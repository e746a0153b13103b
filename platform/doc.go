// Package platform is the runtime every chat bot shares, and knows no
// platform SDK: the in-memory per-channel send queue within a platform's
// budgets (SendQueue), leases that give each Twitch channel and Discord
// shard to one instance, bot status and its metrics, the guard and backoff
// around handling one platform event, the sealed platform tokens and the
// linked servers, and the store of webhook deliveries, each committed with
// the job that processes it. What is specific to one platform (signatures,
// payloads, OAuth, the SDK) lives in bots/twitch, bots/discord or bots/slack.
package platform
