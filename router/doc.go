// Package router is the engine that turns platform events into decisions:
// it resolves an event's community, applies moderation rules, runs commands
// (text, the built-in modules registered from the modules package, remote
// modules), awards points, writes the execution log and keeps each
// community's configuration in a snapshot cache. Router is the engine;
// Settings edits the configuration and invalidates that cache on every
// instance. The seams it calls out through are declared here: OverlaySink,
// Observer, Sender and Module.
package router
