package handlers

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/cors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/waddle/waddle/auth"
	"github.com/waddle/waddle/static"
)

func (h *Handler) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(h.recoverer, h.observe, h.clientIP, securityHeaders)

	r.Get("/healthz", h.healthz)
	r.Get("/readyz", h.readyz)
	r.Post("/webhooks/twitch/eventsub", h.twitchEventSub) // signed by Twitch; no session, no CSRF (webhooks.go)
	r.Post("/webhooks/slack/events", h.slackEvents)       // signed by Slack: no session, no CSRF (slack_webhook.go)
	r.Post("/webhooks/slack/commands", h.slackCommands)
	r.Post("/webhooks/slack/interactive", h.slackInteractive)
	r.Post("/webhooks/stripe", h.stripeWebhook) // signed by Stripe: no session, no CSRF (marketplace_pay.go)
	r.With(h.metricsGuard).Handle("/metrics", promhttp.HandlerFor(h.cfg.Registry, promhttp.HandlerOpts{}))
	r.Handle("/static/*", http.StripPrefix("/static/", h.staticFiles()))
	r.Get("/openapi.yaml", h.openAPISpec)
	r.Get("/favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg", http.StatusMovedPermanently)
	})

	// Browser sources for OBS: the secret token is the only credential; no session, no CSRF (overlay.go).
	r.Get("/overlay/{token}", h.overlayPage)
	r.Get("/overlay/{token}/events", h.overlayEvents)
	r.HandleFunc("/overlay/*", func(w http.ResponseWriter, r *http.Request) { overlayNotFound(w) })

	// A workflow's webhook URL: signed by the sender, no API key (workflow_webhooks.go).
	r.Post("/api/v1/workflows/webhooks/{token}", h.workflowWebhook)

	// The JSON API: bearer API keys, no cookies, so no CSRF; CORS for the
	// configured origins only (none set: no CORS headers at all).
	r.Route("/api/v1", func(r chi.Router) {
		if len(h.cfg.CORSOrigins) > 0 {
			r.Use(cors.Handler(cors.Options{
				AllowedOrigins: h.cfg.CORSOrigins,
				AllowedMethods: []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"},
				AllowedHeaders: []string{"Authorization", "Content-Type"},
				MaxAge:         600,
			}))
		}
		r.Use(h.apiAuth)
		r.Get("/me", h.apiMe)
		r.With(h.apiRoles(roleTrigger, roleAdmin)).Post("/events", h.apiEvents)
		r.With(h.apiRoles(auth.RoleAction, auth.RoleCore, roleAdmin)).Post("/overlays/{id}/events", h.apiOverlayEventByID)
		r.With(h.apiRoles(roleUser, roleAdmin)).Get("/communities", h.apiCommunities)
		r.Route("/communities/{cid}", func(r chi.Router) {
			r.Group(func(r chi.Router) {
				r.Use(h.apiRoles(roleUser, roleAdmin), h.apiCommunityAccess)
				r.Get("/", h.apiCommunity)
				r.Get("/members", h.apiMembers)
				r.Post("/members", h.apiInvite)
				r.Patch("/members/{uid}", h.apiChangeRole)
				r.Delete("/members/{uid}", h.apiRemoveMember)
				r.Get("/audit", h.apiAudit)
			})
			h.labelGroupsAPIRoutes(r)   // labels' platform roles (label_groups_api.go)
			r.Group(h.peopleAPIRoutes)  // the community's people and their reputation (people_api.go)
			r.Group(h.counterAPIRoutes) // named counters: members list, managers set and delete (counters_api.go)
			// Overlay updates: keys that act (bots, modules, services) of the community's managers (overlay.go).
			r.With(h.apiRoles(auth.RoleAction, auth.RoleCore, roleAdmin), h.apiCommunityAccess).Post("/overlays/{id}/events", h.apiOverlayEvent)
			r.Group(h.labelsAPIRoutes) // labels on people and on the community (labels_api.go)
			r.Group(h.timersAPIRoutes) // timed chat messages (timers_api.go)
			r.Group(h.importAPIRoutes) // moving in from another bot (imports_api.go)
		})
		h.hubLabelsAPIRoutes(r) // the hub-wide labels (labels_api.go)
		r.Route("/workflows", h.workflowAPIRoutes)
		r.Route("/schedules", h.scheduleAPIRoutes)
		r.Route("/templates", h.templateAPIRoutes)
		r.Group(h.marketplaceCatalogAPIRoutes) // the module catalogue and publishing (marketplace_catalog_api.go)
		h.installAPIRoutes(r)                  // installing marketplace modules (marketplace_install_api.go)
		h.socialAPIRoutes(r)                   // module reviews and usage (marketplace_social_api.go)
		r.NotFound(func(w http.ResponseWriter, r *http.Request) {
			apiError(w, r, http.StatusNotFound, "No such API route.")
		})
		r.MethodNotAllowed(apiMethodNotAllowed)
	})

	// The hub: cookie sessions, protected against cross-site request forgery.
	r.Group(func(r chi.Router) {
		r.Use(http.NewCrossOriginProtection().Handler, h.sessions.LoadAndSave, h.loadUser)

		r.Get("/signin", h.signInPage)
		r.Post("/signin", h.signIn)
		// The second step of a sign-in and passwordless passkeys (twofactor.go, passkey.go).
		r.Get("/signin/two-factor", h.secondStepPage)
		r.Post("/signin/two-factor", h.secondStep)
		r.Post("/signin/two-factor/passkey/begin", h.beginPasskeySecondStep)
		r.Post("/signin/two-factor/passkey/finish", h.finishPasskeySecondStep)
		r.Post("/signin/passkey/begin", h.beginPasskeySignIn)
		r.Post("/signin/passkey/finish", h.finishPasskeySignIn)
		r.Post("/signout", h.signOut)
		r.Get("/forgot-password", h.forgotPage)
		r.Post("/forgot-password", h.forgot)
		r.Get("/reset-password/{token}", h.resetPage)
		r.Post("/reset-password/{token}", h.reset)
		r.Get("/invite/{token}", h.invitePage)
		r.Post("/invite/{token}", h.acceptInvite)

		r.Group(func(r chi.Router) {
			r.Use(h.requireUser)
			r.Get("/", h.communityList)
			r.Get("/health", h.healthPage)
			r.Get("/account", h.accountPage)
			r.Post("/account/profile", h.updateProfile)
			r.Post("/account/password", h.changePassword)
			r.Post("/account/time-zone", h.setTimeZone) // account_time_zone.go
			// The user's own platform accounts, linked by signing in with each platform (account_links.go).
			r.Get("/account/links/{platform}/start", h.startAccountLink)
			r.Get("/account/links/{platform}/callback", h.accountLinkCallback)
			r.Post("/account/links/{platform}/remove", h.removeAccountLink)
			r.With(h.requireTwoFactorForKeys).Post("/account/keys", h.createKey)
			r.With(h.requireTwoFactorForKeys).Post("/account/keys/{kid}/regenerate", h.regenerateKey)
			r.Post("/account/keys/{kid}/revoke", h.revokeKey)
			// Second factors (twofactor.go, passkey.go); removals ask for the password again.
			r.Get("/account/two-factor/required", h.twoFactorRequiredPage)
			r.Post("/account/two-factor/totp", h.startTOTP)
			r.Get("/account/two-factor/totp", h.totpSetupPage)
			r.Post("/account/two-factor/totp/confirm", h.confirmTOTP)
			r.Post("/account/two-factor/totp/remove", h.removeTOTP)
			r.Post("/account/two-factor/recovery-codes", h.regenerateRecoveryCodes)
			r.Post("/account/passkeys/begin", h.beginPasskeyRegistration)
			r.Post("/account/passkeys/finish", h.finishPasskeyRegistration)
			r.Post("/account/passkeys/{pid}/remove", h.removePasskey)

			// The test payment provider's checkout (PAYMENTS_PROVIDER=test only; marketplace_pay.go).
			r.Get("/marketplace/test-checkout/{session}", h.testCheckoutPage)
			r.Post("/marketplace/test-checkout/{session}/pay", h.payTestCheckout)
			r.Post("/marketplace/test-checkout/{session}/cancel", h.cancelTestCheckout)

			r.With(h.requireAdmin).Post("/communities", h.createCommunity)
			r.With(h.requireAdmin).Get("/admin/audit", h.globalAudit)
			r.Group(h.marketplaceCatalogHubRoutes) // the module catalogue and publishing (marketplace_catalog_hub.go)
			r.With(h.requireAdmin).Get("/health/twitch/bot/connect", h.connectTwitchBot)
			// Platform OAuth callbacks: the state ties them to the session that started them (links.go).
			r.Get("/oauth/twitch/callback", h.twitchCallback)
			r.Get("/oauth/slack/callback", h.slackCallback)
			r.Get("/oauth/nightbot/callback", h.nightbotCallback)
			h.socialHubRoutes(r) // module reviews and usage (marketplace_social_hub.go)

			r.Route("/c/{cid}", func(r chi.Router) {
				r.Use(h.communityAccess)
				h.installHubRoutes(r)      // installing marketplace modules (marketplace_install_hub.go)
				h.labelGroupsHubRoutes(r)  // a label's platform roles, a person's role states (label_groups.go)
				r.Get("/", h.overviewPage) // the community's landing page (overview.go)
				r.Get("/members", h.membersPage)
				r.Group(func(r chi.Router) {
					r.Use(h.requireManager)
					r.Get("/settings", h.settingsPage)
					r.Get("/audit", h.communityAudit)
					r.Post("/settings", h.updateSettings)
					r.Post("/settings/two-factor", h.setRequireTwoFactor)
					if h.cfg.Licensing != nil {
						r.Post("/settings/licence", h.setLicence)
						r.Post("/settings/licence/remove", h.removeLicence)
					}
					r.Post("/invitations", h.invite)
					r.Post("/invitations/{iid}/revoke", h.revokeInvitation)
					r.Post("/members/{uid}/role", h.changeRole)
					r.Post("/members/{uid}/remove", h.removeMember)
					r.Post("/keys", h.createCommunityKey) // the community's API keys (community_keys.go)
					r.Post("/keys/{kid}/regenerate", h.regenerateCommunityKey)
					r.Post("/keys/{kid}/revoke", h.revokeCommunityKey)
					r.Get("/marketplace/installed/{slug}/usage", h.communityUsagePage) // marketplace_social_hub.go
					h.importHubRoutes(r)                                               // importing from another bot (imports.go)
				})

				// The bot pages: members look, managers change (bot.go).
				r.Get("/commands", h.commandsPage)
				r.Get("/commands/{id}", h.commandRowPage)
				r.Get("/moderation", h.moderationPage)
				r.Get("/moderation/rules/{rid}", h.ruleRowPage)
				r.Get("/points", h.pointsPage)
				h.labelsHubRoutes(r)  // labels, and a person's labels panel (labels_hub.go)
				h.peopleHubRoutes(r)  // people, profiles and reputation: members look, moderators adjust (people.go)
				h.counterHubRoutes(r) // named counters: members look, managers set and delete (counters.go)
				h.timersHubRoutes(r)  // timed chat messages: members look, managers change (timers_hub.go)
				r.Get("/executions", h.executionsPage)
				r.Get("/servers", h.serversPage)
				r.Get("/simulator", h.simulatorPage)
				r.Post("/simulator", h.simulate) // members: dry runs only
				r.Group(func(r chi.Router) {
					r.Use(h.requireManager)
					r.Post("/prefix", h.setPrefix)
					r.Post("/commands", h.createCommand)
					r.Post("/commands/preview", h.commandPreview)
					r.Get("/commands/{id}/edit", h.editCommandPage)
					r.Post("/commands/{id}", h.updateCommand)
					r.Post("/commands/{id}/toggle", h.toggleCommand)
					r.Post("/commands/{id}/delete", h.deleteCommand)
					r.Post("/commands/{id}/aliases", h.addAlias)
					r.Post("/commands/{id}/aliases/{alias}/delete", h.deleteAlias)
					r.Post("/commands/slash/{name}", h.setSlashChoice)
					r.Post("/moderation/rules", h.createRule)
					r.Get("/moderation/rules/{rid}/edit", h.editRulePage)
					r.Post("/moderation/rules/{rid}", h.updateRule)
					r.Post("/moderation/rules/{rid}/toggle", h.toggleRule)
					r.Post("/moderation/rules/{rid}/delete", h.deleteRule)
					r.Post("/points/{key}", h.setPointsValue)
					r.Post("/viewer-tracking", h.setViewerTracking)
					r.Post("/servers", h.linkServer)
					r.Post("/servers/{eid}/unlink", h.unlinkServer)
					r.Get("/servers/twitch/connect", h.connectTwitch)
					r.Get("/servers/slack/install", h.installSlack)
				})

				// Paying for marketplace modules: managers buy and renew; checkouts return to paid and cancelled (marketplace_pay.go).
				r.Get("/marketplace/{slug}/price", h.pricePanel)
				r.Get("/marketplace/{slug}/paid", h.paidPage)
				r.Get("/marketplace/{slug}/cancelled", h.cancelledPage)
				r.With(h.requireManager).Post("/marketplace/{slug}/buy", h.buyModule)
				r.With(h.requireManager).Post("/marketplace/{slug}/renew", h.buyModule)

				// Remote modules (#name): members look, managers add and delete (modules.go).
				r.Get("/modules", h.modulesPage)
				r.Group(func(r chi.Router) {
					r.Use(h.requireManager)
					r.Post("/modules", h.createModule)
					r.Post("/modules/{mid}/delete", h.deleteModule)
				})

				// Workflows and their builder: members look, managers change (workflows_hub.go, workflow_nodes.go).
				r.Group(func(r chi.Router) {
					r.Use(h.requireWorkflows)
					r.Get("/workflows", h.workflowsPage)
					r.Get("/workflows/{id}/edit", h.builderPage)
					r.Get("/workflows/{id}/export", h.exportWorkflow)
					r.Get("/workflows/{id}/nodes/{node}", h.nodePanel)
					r.Group(func(r chi.Router) {
						r.Use(h.requireManager)
						r.Post("/workflows", h.createWorkflow)
						r.Post("/workflows/import", h.importWorkflow)
						r.Post("/workflows/{id}/delete", h.deleteWorkflow)
						r.Put("/workflows/{id}/definition", h.saveDefinition)
						r.Post("/workflows/{id}/nodes/{node}", h.saveNode)
						r.Post("/workflows/{id}/publish", h.publishWorkflow)
						r.Post("/workflows/{id}/draft", h.draftWorkflow)
					})
				})

				// Workflow runs and test runs: readers look, those with the execute right act (workflow_runs.go, workflow_testrun.go).
				r.Group(func(r chi.Router) {
					r.Use(h.requireRunViews)
					r.Get("/runs", h.runsPage)
					r.Get("/runs/{runID}", h.runPage)
					r.With(h.runTwoFactor).Post("/runs/{runID}/retry", h.retryRun)
					r.With(h.runTwoFactor).Post("/runs/{runID}/replay", h.replayRun)
					r.With(h.runTwoFactor).Post("/runs/{runID}/cancel", h.cancelRun)
					r.Get("/workflows/{id}/runs", h.workflowRunsPage)
					r.With(h.runTwoFactor).Post("/workflows/{id}/test", h.testRun)
				})

				// The module catalogue inside the workspace: members look (marketplace_catalog_hub.go).
				r.Get("/marketplace", h.marketplacePage)
				r.Get("/marketplace/{slug}", h.modulePage)

				// Browser sources for OBS: members look, managers change (overlay.go).
				r.Get("/overlays", h.overlaysPage)
				r.Get("/overlays/{oid}/preview", h.previewOverlay)
				r.Group(func(r chi.Router) {
					r.Use(h.requireManager)
					r.Post("/overlays", h.createOverlay)
					r.Post("/overlays/{oid}", h.updateOverlay)
					r.Post("/overlays/{oid}/content", h.setOverlayContent)
					r.Post("/overlays/{oid}/test", h.testOverlay)
					r.Post("/overlays/{oid}/regenerate", h.regenerateOverlay)
					r.Post("/overlays/{oid}/delete", h.deleteOverlay)
				})
			})
		})
	})
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { h.fail(w, r, errNotFound) })
	return r
}

// staticFiles serves the embedded front-end files, and nothing else: a
// directory (/static/ itself) is a 404, never a listing.
func (h *Handler) staticFiles() http.Handler {
	files := http.FileServerFS(static.Files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st, err := fs.Stat(static.Files, r.URL.Path); err != nil || st.IsDir() {
			h.fail(w, r, errNotFound)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// apiMethodNotAllowed answers a known API route called with a method it does
// not take, in the API's JSON envelope, with the Allow header chi's own 405 sets.
func apiMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allow []string
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.Routes != nil {
		path := r.URL.RawPath
		if path == "" {
			path = r.URL.Path
		}
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			if rc.Routes.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
			}
		}
	}
	msg := "This API route does not take " + r.Method + "."
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		msg = "This API route takes " + strings.Join(allow, " or ") + ", not " + r.Method + "."
	}
	apiError(w, r, http.StatusMethodNotAllowed, msg)
}
