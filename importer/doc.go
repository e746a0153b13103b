// Package importer moves a community in from another bot: Nightbot,
// StreamElements, Streamlabs Chatbot, Firebot and PhantomBot.
//
// Each source is read, from its files or its API, into a Bundle: the
// commands, timers, quotes, counters, filters and viewers' balances it
// holds, already translated to Waddle's variables and permission levels,
// with the original text kept beside each translation and what cannot come
// across listed with the reason. A bundle is stored as an import, which
// previews against the community (what will be created, adapted, skipped,
// or conflicts with an existing command) without writing anything, applies
// as a background job in batches that resume after a crash without
// counting twice, and can be undone for seven days.
package importer
