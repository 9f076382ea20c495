package web

import (
	"github.com/nines-dev/nines/internal/auth"
	"github.com/nines-dev/nines/internal/statuspage"
	"github.com/nines-dev/nines/internal/web/httpx"
)

// Routes is the whole route table: every route nines serves, with who may call it (its access,
// least role and team scope) and the handler that answers. It drives routing, authorization,
// the check that docs/api.md documents every API route, and the authorization matrix tests.
// Handlers live by audience: package api (JSON for tools), ui (pages for people signed in),
// public (status pages, pings, signed links, calendar feeds).
func (s *Server) Routes() []httpx.Route {
	return []httpx.Route{
		// Health and metrics.
		{Method: "GET", Pattern: "/healthz", Access: httpx.Public, Handle: s.api.Healthz, API: true},
		{Method: "GET", Pattern: "/readyz", Access: httpx.Public, Handle: s.api.Readyz, API: true},
		{Method: "GET", Pattern: "/metrics", Access: httpx.Public, Handle: s.api.ServeMetrics, API: true},

		// Alerts in, by integration key.
		{Method: "POST", Pattern: "/v2/enqueue", Access: httpx.Key, Handle: s.api.EnqueueEventsV2, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/alertmanager/{key}", Access: httpx.Key, Handle: s.api.IngestAlertmanager, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/alertmanager", Access: httpx.Key, Handle: s.api.IngestAlertmanager, API: true},
		{Method: "POST", Pattern: "/api/v1/ingest/generic/{key}", Access: httpx.Key, Handle: s.api.IngestGeneric, API: true},

		// Incidents and services.
		{Method: "GET", Pattern: "/api/v1/incidents", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListIncidents, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetIncident, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/timeline", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetTimeline, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/alerts", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetIncidentAlerts, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/acknowledge", Role: auth.Responder, Scope: httpx.EachInBody(httpx.Incident, "ids"), Handle: s.api.AcknowledgeIncidents, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/resolve", Role: auth.Responder, Scope: httpx.EachInBody(httpx.Incident, "ids"), Handle: s.api.ResolveIncidents, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/acknowledge", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.AcknowledgeIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/resolve", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.ResolveIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/notes", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.AddNote, API: true},
		{Method: "GET", Pattern: "/api/v1/services", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListServices, API: true},

		// Signing in, accounts, tokens, the audit log; the incident pages.
		{Method: "GET", Pattern: "/login/oidc", Access: httpx.Public, Handle: s.ui.OIDCStart},
		{Method: "GET", Pattern: "/login/oidc/callback", Access: httpx.Public, Handle: s.ui.OIDCCallback},
		{Method: "GET", Pattern: "/admin/accounts", Role: auth.Admin, Scope: httpx.Filtered, Handle: s.ui.AccountsPage},
		{Method: "POST", Pattern: "/admin/users", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams"), Handle: s.ui.CreateUser},
		{Method: "POST", Pattern: "/admin/users/{username}/disable", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.ui.DisableUser},
		{Method: "POST", Pattern: "/admin/tokens", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams"), Handle: s.ui.CreateToken},
		{Method: "POST", Pattern: "/admin/tokens/{id}/revoke", Role: auth.Admin, Scope: httpx.InPath(httpx.APIToken, "id"), Handle: s.ui.RevokeToken},
		{Method: "GET", Pattern: "/api/v1/users", Role: auth.Admin, Scope: httpx.Filtered, Handle: s.api.ListUsers, API: true},
		{Method: "POST", Pattern: "/api/v1/users", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams"), Handle: s.api.CreateUser, API: true},
		{Method: "DELETE", Pattern: "/api/v1/users/{username}", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.api.DeleteUser, API: true},
		{Method: "PATCH", Pattern: "/api/v1/users/{username}", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username").And(httpx.InBody(httpx.Team, "teams")), Handle: s.api.UpdateUser, API: true},
		{Method: "POST", Pattern: "/api/v1/users/{username}/enable", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.api.EnableUser, API: true},
		{Method: "POST", Pattern: "/api/v1/users/{username}/disable", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.api.DisableUser, API: true},
		{Method: "POST", Pattern: "/api/v1/users/{username}/reset-password", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.api.ResetUserPassword, API: true},
		{Method: "POST", Pattern: "/api/v1/invites", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams"), Handle: s.api.InviteUser, API: true},
		{Method: "POST", Pattern: "/admin/invites", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams"), Handle: s.ui.InviteUser},
		{Method: "POST", Pattern: "/admin/users/{username}/enable", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.ui.EnableUser},
		{Method: "POST", Pattern: "/admin/users/{username}/update", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username").And(httpx.InBody(httpx.Team, "teams")), Handle: s.ui.UpdateUser},
		{Method: "POST", Pattern: "/admin/users/{username}/reset-password", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.ui.ResetPassword},
		{Method: "POST", Pattern: "/admin/users/{username}/delete", Role: auth.Admin, Scope: httpx.InPath(httpx.Account, "username"), Handle: s.ui.DeleteUser},
		// An invitation's single-use secret is the credential: GET shows the form, POST sets
		// the password.
		{Method: "GET", Pattern: "/invite/{token}", Access: httpx.Secret, Handle: s.ui.InvitePage},
		{Method: "POST", Pattern: "/invite/{token}", Access: httpx.Secret, Handle: s.ui.AcceptInvite},
		// Every person's own profile: they act on themselves only.
		{Method: "GET", Pattern: "/api/v1/me", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.GetMe, API: true},
		{Method: "POST", Pattern: "/api/v1/me/contact-methods", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.CreateContactMethod, API: true},
		{Method: "POST", Pattern: "/api/v1/me/contact-methods/{id}/send-code", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.SendContactCode, API: true},
		{Method: "POST", Pattern: "/api/v1/me/contact-methods/{id}/verify", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.VerifyContactMethod, API: true},
		{Method: "POST", Pattern: "/api/v1/me/contact-methods/{id}/test", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.TestContactMethod, API: true},
		{Method: "DELETE", Pattern: "/api/v1/me/contact-methods/{id}", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.DeleteContactMethod, API: true},
		{Method: "POST", Pattern: "/api/v1/me/notification-rules", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.CreateNotificationRule, API: true},
		{Method: "DELETE", Pattern: "/api/v1/me/notification-rules/{id}", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.DeleteNotificationRule, API: true},
		{Method: "POST", Pattern: "/api/v1/me/password", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.ChangePassword, API: true},
		{Method: "PUT", Pattern: "/api/v1/me/time-zone", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.PutTimeZone, API: true},
		{Method: "POST", Pattern: "/api/v1/me/sign-out-everywhere", Role: auth.Viewer, Scope: httpx.Own, Handle: s.api.SignOutEverywhere, API: true},
		{Method: "GET", Pattern: "/profile", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.ProfilePage},
		{Method: "POST", Pattern: "/profile/contact-methods", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.AddContactMethod},
		{Method: "POST", Pattern: "/profile/contact-methods/{id}/{action}", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.ContactMethodAction},
		{Method: "POST", Pattern: "/profile/notification-rules", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.AddRule},
		{Method: "POST", Pattern: "/profile/notification-rules/{id}/delete", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.DeleteRule},
		{Method: "POST", Pattern: "/profile/password", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.ChangePassword},
		{Method: "POST", Pattern: "/profile/time-zone", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.SetTimeZone},
		{Method: "POST", Pattern: "/profile/sign-out-everywhere", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.SignOutEverywhere},
		{Method: "POST", Pattern: "/profile/calendar-feed/rotate", Role: auth.Viewer, Scope: httpx.Own, Handle: s.ui.RotateFeed},
		{Method: "GET", Pattern: "/api/v1/tokens", Role: auth.Admin, Scope: httpx.Filtered, Handle: s.api.ListTokens, API: true},
		{Method: "POST", Pattern: "/api/v1/tokens", Role: auth.Admin, Scope: httpx.InBody(httpx.Team, "teams").And(httpx.InBody(httpx.Person, "user")), Handle: s.api.CreateToken, API: true},
		{Method: "DELETE", Pattern: "/api/v1/tokens/{id}", Role: auth.Admin, Scope: httpx.InPath(httpx.APIToken, "id"), Handle: s.api.RevokeToken, API: true},
		{Method: "GET", Pattern: "/api/v1/audit", Role: auth.Admin, Scope: httpx.AllTeams, Handle: s.api.ListAudit, API: true},

		// Config objects made in the web app or the API, beside the files' (which are
		// read-only here): managers of every team change them, admins reload the files.
		{Method: "GET", Pattern: "/api/v1/config/export", Role: auth.Manager, Scope: httpx.AllTeams, Handle: s.api.ExportConfig, API: true},
		{Method: "POST", Pattern: "/api/v1/config/reload", Role: auth.Admin, Scope: httpx.AllTeams, Handle: s.api.ReloadConfig, API: true},
		{Method: "GET", Pattern: "/api/v1/config/{kind}", Role: auth.Manager, Scope: httpx.Filtered, Handle: s.api.ListConfigObjects, API: true},
		{Method: "POST", Pattern: "/api/v1/config/{kind}", Role: auth.Manager, Scope: httpx.InBody(httpx.ConfigObject, "id"), Handle: s.api.CreateConfigObject, API: true},
		{Method: "GET", Pattern: "/api/v1/config/{kind}/{id}", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.api.GetConfigObject, API: true},
		{Method: "PUT", Pattern: "/api/v1/config/{kind}/{id}", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.api.UpdateConfigObject, API: true},
		{Method: "DELETE", Pattern: "/api/v1/config/{kind}/{id}", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.api.DeleteConfigObject, API: true},
		// People are changed by admins only, as their accounts are; a person belongs to the
		// teams listing them and to those of the schedules they are on.
		{Method: "POST", Pattern: "/api/v1/config/users", Role: auth.Admin, Scope: httpx.InBody(httpx.Person, "id"), Handle: s.api.CreateConfigObject, API: true},
		{Method: "PUT", Pattern: "/api/v1/config/users/{id}", Role: auth.Admin, Scope: httpx.InPath(httpx.Person, "id"), Handle: s.api.UpdateConfigObject, API: true},
		{Method: "DELETE", Pattern: "/api/v1/config/users/{id}", Role: auth.Admin, Scope: httpx.InPath(httpx.Person, "id"), Handle: s.api.DeleteConfigObject, API: true},
		{Method: "POST", Pattern: "/api/v1/config/services/{id}/integrations/{index}/rotate", Role: auth.Manager, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.RotateIntegrationKey, API: true},
		{Method: "GET", Pattern: "/config", Role: auth.Manager, Scope: httpx.NoTeam, Handle: s.ui.ConfigPage},
		{Method: "POST", Pattern: "/admin/config/reload", Role: auth.Admin, Scope: httpx.AllTeams, Handle: s.ui.ReloadConfig},
		{Method: "GET", Pattern: "/config/{kind}", Role: auth.Manager, Scope: httpx.Filtered, Handle: s.ui.ConfigKindPage},
		{Method: "POST", Pattern: "/config/{kind}", Role: auth.Manager, Scope: httpx.InBody(httpx.ConfigObject, "id"), Handle: s.ui.CreateConfigObject},
		{Method: "GET", Pattern: "/config/{kind}/{id}", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.ui.ConfigObjectPage},
		{Method: "POST", Pattern: "/config/{kind}/{id}", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.ui.UpdateConfigObject},
		{Method: "POST", Pattern: "/config/{kind}/{id}/delete", Role: auth.Manager, Scope: httpx.InPath(httpx.ConfigObject, "id"), Handle: s.ui.DeleteConfigObject},
		{Method: "POST", Pattern: "/config/users", Role: auth.Admin, Scope: httpx.InBody(httpx.Person, "id"), Handle: s.ui.CreateConfigObject},
		{Method: "POST", Pattern: "/config/users/{id}", Role: auth.Admin, Scope: httpx.InPath(httpx.Person, "id"), Handle: s.ui.UpdateConfigObject},
		{Method: "POST", Pattern: "/config/users/{id}/delete", Role: auth.Admin, Scope: httpx.InPath(httpx.Person, "id"), Handle: s.ui.DeleteConfigObject},
		{Method: "POST", Pattern: "/config/services/{id}/integrations/{index}/rotate", Role: auth.Manager, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.RotateIntegrationKey},
		{Method: "GET", Pattern: "/admin/audit", Role: auth.Admin, Scope: httpx.AllTeams, Handle: s.ui.AuditPage},
		{Method: "GET", Pattern: "/static/{name}", Access: httpx.Public, Handle: s.ui.Static},
		{Method: "GET", Pattern: "/login", Access: httpx.Public, Handle: s.ui.LoginPage},
		{Method: "POST", Pattern: "/login", Access: httpx.Public, Handle: s.ui.Login},
		{Method: "POST", Pattern: "/logout", Access: httpx.Public, Handle: s.ui.Logout},
		{Method: "GET", Pattern: "/{$}", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.IncidentsPage},
		// Any other address: a 404 of the app's own (the API's in JSON), to people signed in.
		{Method: "GET", Pattern: "/", Role: auth.Viewer, Scope: httpx.NoTeam, Handle: s.ui.NotFound},
		{Method: "GET", Pattern: "/incidents/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.IncidentPage},
		{Method: "POST", Pattern: "/incidents/bulk", Role: auth.Responder, Scope: httpx.EachInBody(httpx.Incident, "id"), Handle: s.ui.BulkForm},
		{Method: "POST", Pattern: "/incidents/{id}/acknowledge", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Acknowledge},
		{Method: "POST", Pattern: "/incidents/{id}/resolve", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Resolve},
		{Method: "POST", Pattern: "/incidents/{id}/notes", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Note},
		{Method: "POST", Pattern: "/incidents/{id}/status-updates", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.StatusUpdate},
		{Method: "POST", Pattern: "/incidents/{id}/escalate", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Escalate},
		{Method: "POST", Pattern: "/incidents/{id}/reassign", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Reassign},
		{Method: "POST", Pattern: "/incidents/{id}/snooze", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.Snooze},
		{Method: "GET", Pattern: "/events", Role: auth.Viewer, Scope: httpx.NoTeam, Handle: s.ui.Events},

		// On call: schedules, overrides, calendar feeds, escalation, signed links.
		{Method: "GET", Pattern: "/api/v1/oncall", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.GetOnCall, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListSchedules, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/shifts", Role: auth.Viewer, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.api.GetShifts, API: true},
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/overrides", Role: auth.Viewer, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.api.ListOverrides, API: true},
		{Method: "POST", Pattern: "/api/v1/schedules/{id}/overrides", Role: auth.Responder, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.api.CreateOverride, API: true},
		{Method: "DELETE", Pattern: "/api/v1/schedules/{id}/overrides/{override}", Role: auth.Responder, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.api.DeleteOverride, API: true},
		// Calendar apps cannot send a bearer token: the feed takes one, or the secret key that
		// GET /api/v1/schedules hands to viewers.
		{Method: "GET", Pattern: "/api/v1/schedules/{id}/shifts.ics", Access: httpx.Secret, Handle: s.public.ScheduleICS, API: true},
		{Method: "GET", Pattern: "/api/v1/users/{id}/shifts.ics", Access: httpx.Secret, Handle: s.public.UserICS, API: true},
		{Method: "POST", Pattern: "/api/v1/feed-keys/rotate", Role: auth.Viewer, Scope: httpx.NoTeam, Handle: s.api.RotateFeedKeys, API: true},
		{Method: "GET", Pattern: "/schedules", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.SchedulesPage},
		{Method: "GET", Pattern: "/schedules/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.ui.SchedulePage},
		{Method: "POST", Pattern: "/schedules/{id}/overrides", Role: auth.Responder, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.ui.CreateOverride},
		{Method: "POST", Pattern: "/schedules/{id}/overrides/{override}/delete", Role: auth.Responder, Scope: httpx.InPath(httpx.Schedule, "id"), Handle: s.ui.DeleteOverride},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/escalate", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.EscalateIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/reassign", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.ReassignIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/snooze", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.SnoozeIncident, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/oncall", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.OnCallReport, API: true},
		// The signed token is the credential: a page must be acknowledgeable from a phone
		// with no session. GET only confirms, so mail scanners that follow links do nothing.
		{Method: "GET", Pattern: "/a/{token}", Access: httpx.Secret, Handle: s.public.LinkPage},
		{Method: "POST", Pattern: "/a/{token}", Access: httpx.Secret, Handle: s.public.UseLink},
		// Twilio-compatible voice calls post the key pressed here (TwiML <Gather>).
		{Method: "POST", Pattern: "/a/{token}/voice", Access: httpx.Public, Handle: s.public.VoiceKey},

		// Monitors: heartbeat pings, the monitor API, remote agents.
		// Agents need an agent token, bound to their location: their results open and resolve
		// incidents, and their assignments carry the monitors' request headers, which may hold
		// credentials of the targets. No other principal gets either.
		{Method: "GET", Pattern: "/ping/{path...}", Access: httpx.Public, Handle: s.public.Ping, API: true},
		{Method: "POST", Pattern: "/ping/{path...}", Access: httpx.Public, Handle: s.public.Ping, API: true},
		{Method: "GET", Pattern: "/api/v1/monitors", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListMonitors, API: true},
		{Method: "GET", Pattern: "/api/v1/monitors/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.api.GetMonitor, API: true},
		// A check made on request runs outside the schedule, against any target a definition
		// names: managers and above, a few at once per caller (api.MaxChecksPerCaller).
		{Method: "POST", Pattern: "/api/v1/monitors/check", Role: auth.Manager, Scope: httpx.InBody(httpx.Service, "service"), Handle: s.api.CheckMonitorDefinition, API: true},
		{Method: "POST", Pattern: "/api/v1/monitors/{id}/check", Role: auth.Manager, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.api.CheckMonitor, API: true},
		// Pausing silences a monitor as a maintenance window does: responders, like windows.
		{Method: "POST", Pattern: "/api/v1/monitors/{id}/pause", Role: auth.Responder, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.api.PauseMonitor, API: true},
		{Method: "POST", Pattern: "/api/v1/monitors/{id}/resume", Role: auth.Responder, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.api.ResumeMonitor, API: true},
		{Method: "GET", Pattern: "/api/v1/probe/assignments", Role: auth.Agent, Scope: httpx.Filtered, Handle: s.api.ProbeAssignments, API: true},
		{Method: "POST", Pattern: "/api/v1/probe/results", Role: auth.Agent, Scope: httpx.InBody(httpx.Monitor, "results.monitor_id"), Handle: s.api.ProbeResults, API: true},
		{Method: "GET", Pattern: "/api/v1/probe/agents", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ProbeAgents, API: true},
		{Method: "GET", Pattern: "/monitors", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.MonitorsPage},
		{Method: "GET", Pattern: "/monitors/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.ui.MonitorPage},
		{Method: "POST", Pattern: "/monitors/{id}/check", Role: auth.Manager, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.ui.CheckMonitor},
		{Method: "POST", Pattern: "/monitors/{id}/pause", Role: auth.Responder, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.ui.PauseMonitor},
		{Method: "POST", Pattern: "/monitors/{id}/resume", Role: auth.Responder, Scope: httpx.InPath(httpx.Monitor, "id"), Handle: s.ui.ResumeMonitor},

		// SLOs, release gates, SLA reports.
		{Method: "POST", Pattern: "/api/v1/slis/{id}/events", Role: auth.Responder, Scope: httpx.InPath(httpx.SLO, "id"), Handle: s.api.PushSLIEvents, API: true},
		{Method: "GET", Pattern: "/api/v1/slos", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListSLOs, API: true},
		{Method: "GET", Pattern: "/api/v1/slos/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.SLO, "id"), Handle: s.api.GetSLO, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/gate", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.ServiceGate, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/sla", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.ServiceSLA, API: true},
		{Method: "GET", Pattern: "/slos", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.SLOsPage},
		{Method: "GET", Pattern: "/slos/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.SLO, "id"), Handle: s.ui.SLOPage},

		// Status pages and maintenance.
		// The public pages: everything a customer, a feed reader or a widget reads.
		{Method: "GET", Pattern: "/status/{page}", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetHTML)},
		{Method: "GET", Pattern: "/status/{page}/api/v2/summary.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetSummary), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/status.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetStatus), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/components.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetComponents), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/incidents.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetIncidents), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/incidents/unresolved.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetUnresolved), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetMaintenance), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances/upcoming.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetUpcoming), API: true},
		{Method: "GET", Pattern: "/status/{page}/api/v2/scheduled-maintenances/active.json", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetActive), API: true},
		{Method: "GET", Pattern: "/status/{page}/history.atom", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetFeed), API: true},
		{Method: "GET", Pattern: "/status/{page}/badge.svg", Access: httpx.Public, Handle: s.public.Asset(statuspage.AssetBadge), API: true},
		{Method: "GET", Pattern: "/status/{page}/badges/{file}", Access: httpx.Public, Handle: s.public.ComponentBadge, API: true},
		{Method: "POST", Pattern: "/status/{page}/subscribe", Access: httpx.Public, Handle: s.public.Subscribe},
		{Method: "GET", Pattern: "/status/{page}/confirm", Access: httpx.Public, Handle: s.public.SubscriptionLink("confirm")},
		{Method: "POST", Pattern: "/status/{page}/confirm", Access: httpx.Secret, Handle: s.public.Confirm},
		{Method: "GET", Pattern: "/status/{page}/unsubscribe", Access: httpx.Public, Handle: s.public.SubscriptionLink("unsubscribe")},
		{Method: "POST", Pattern: "/status/{page}/unsubscribe", Access: httpx.Secret, Handle: s.public.Unsubscribe},
		// Responders: overrides, maintenance and public updates.
		{Method: "GET", Pattern: "/api/v1/status-pages", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListStatusPages, API: true},
		{Method: "PUT", Pattern: "/api/v1/status-pages/{page}/components/{component}/override", Role: auth.Responder, Scope: httpx.InPath(httpx.Component, "component"), Handle: s.api.SetOverride, API: true},
		{Method: "DELETE", Pattern: "/api/v1/status-pages/{page}/components/{component}/override", Role: auth.Responder, Scope: httpx.InPath(httpx.Component, "component"), Handle: s.api.ClearOverride, API: true},
		{Method: "POST", Pattern: "/api/v1/status-pages/{page}/maintenance", Role: auth.Responder, Scope: httpx.InBody(httpx.Component, "components"), Handle: s.api.ScheduleMaintenance, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/status-updates", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.PostStatusUpdate, API: true},
		{Method: "GET", Pattern: "/status-pages", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.StatusPagesPage},
		{Method: "POST", Pattern: "/status-pages/{page}/components/{component}/override", Role: auth.Responder, Scope: httpx.InPath(httpx.Component, "component"), Handle: s.ui.Override},
		{Method: "GET", Pattern: "/api/v1/maintenance", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListMaintenance, API: true},
		{Method: "POST", Pattern: "/api/v1/maintenance", Role: auth.Responder, Scope: windowTargets, Handle: s.api.ScheduleWindow, API: true},
		{Method: "GET", Pattern: "/api/v1/maintenance/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Window, "id"), Handle: s.api.GetMaintenance, API: true},
		{Method: "PATCH", Pattern: "/api/v1/maintenance/{id}", Role: auth.Responder, Scope: httpx.InPath(httpx.Window, "id").And(windowTargets), Handle: s.api.EditMaintenance, API: true},
		{Method: "DELETE", Pattern: "/api/v1/maintenance/{id}", Role: auth.Responder, Scope: httpx.InPath(httpx.Window, "id"), Handle: s.api.CancelMaintenance, API: true},
		{Method: "GET", Pattern: "/maintenance", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.MaintenancePage},
		{Method: "POST", Pattern: "/maintenance", Role: auth.Responder, Scope: windowTargets, Handle: s.ui.ScheduleWindow},
		{Method: "POST", Pattern: "/maintenance/{id}", Role: auth.Responder, Scope: httpx.InPath(httpx.Window, "id").And(windowTargets), Handle: s.ui.ChangeWindow},
		// Corrections of public updates.
		{Method: "PATCH", Pattern: "/api/v1/incidents/{id}/status-updates/{update}", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.EditStatusUpdate, API: true},
		{Method: "DELETE", Pattern: "/api/v1/incidents/{id}/status-updates/{update}", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.RetractStatusUpdate, API: true},
		{Method: "POST", Pattern: "/incidents/{id}/status-updates/{update}", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.CorrectStatusUpdate},

		// Declaring and running incidents, changes, postmortems, reports, search.
		// Incident response.
		{Method: "POST", Pattern: "/api/v1/incidents", Role: auth.Responder, Scope: httpx.InBody(httpx.Service, "service"), Handle: s.api.DeclareIncident, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/sev", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.SetSEV, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/roles", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.AssignRole, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/impact", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.SetImpact, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/links", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.ListLinks, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/links", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.AddLink, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/alerts/actionable", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.MarkActionable, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/runbook", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetRunbook, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/similar", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetSimilar, API: true},
		// Changes.
		{Method: "POST", Pattern: "/v2/change/enqueue", Access: httpx.Key, Handle: s.api.EnqueueChange, API: true},
		{Method: "POST", Pattern: "/api/v1/changes", Role: auth.Responder, Scope: httpx.InBody(httpx.Service, "service"), Handle: s.api.PostDeploy, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/changes", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.ServiceChanges, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/changes", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.IncidentChanges, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/cause", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id").And(httpx.InBody(httpx.Change, "change_id")), Handle: s.api.NameCause, API: true},
		// Postmortems and action items.
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.DraftPostmortem, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.GetPostmortem, API: true},
		{Method: "PATCH", Pattern: "/api/v1/incidents/{id}/postmortem", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.EditPostmortem, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem/publish", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.PublishPostmortem, API: true},
		{Method: "GET", Pattern: "/api/v1/incidents/{id}/postmortem/actions", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.ListActions, API: true},
		{Method: "POST", Pattern: "/api/v1/incidents/{id}/postmortem/actions", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.api.AddAction, API: true},
		{Method: "PATCH", Pattern: "/api/v1/actions/{aid}", Role: auth.Responder, Scope: httpx.InPath(httpx.ActionItem, "aid"), Handle: s.api.UpdateAction, API: true},
		// Reports and search.
		{Method: "GET", Pattern: "/api/v1/reports/incidents", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.IncidentReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/dora", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.DORAReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/alerts", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.AlertReport, API: true},
		{Method: "GET", Pattern: "/api/v1/reports/actions", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ActionReport, API: true},
		{Method: "GET", Pattern: "/api/v1/search", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.Search, API: true},
		// Pages.
		{Method: "GET", Pattern: "/incidents/new", Role: auth.Responder, Scope: httpx.Filtered, Handle: s.ui.DeclarePage},
		{Method: "POST", Pattern: "/incidents/new", Role: auth.Responder, Scope: httpx.InBody(httpx.Service, "service"), Handle: s.ui.DeclareForm},
		{Method: "GET", Pattern: "/incidents/{id}/respond", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.RespondPage},
		{Method: "POST", Pattern: "/incidents/{id}/respond", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.RespondForm},
		{Method: "GET", Pattern: "/incidents/{id}/postmortem", Role: auth.Viewer, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.PostmortemPage},
		{Method: "POST", Pattern: "/incidents/{id}/postmortem", Role: auth.Responder, Scope: httpx.InPath(httpx.Incident, "id"), Handle: s.ui.PostmortemForm},
		{Method: "GET", Pattern: "/services/{id}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.ServicePage},
		{Method: "GET", Pattern: "/search", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.SearchPage},
		{Method: "GET", Pattern: "/reports", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.ReportsPage},
		{Method: "GET", Pattern: "/reports/{report}", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.ReportCSV},

		// Production readiness scorecards and chaos drills. Runs are reached through their
		// service, so the service's team scope covers them.
		{Method: "GET", Pattern: "/api/v1/readiness", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListReadiness, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/readiness", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.GetReadiness, API: true},
		{Method: "POST", Pattern: "/api/v1/services/{id}/readiness/attestations", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.Attest, API: true},
		{Method: "GET", Pattern: "/readiness", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.ReadinessPage},
		{Method: "GET", Pattern: "/services/{id}/readiness", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.ServiceReadinessPage},
		{Method: "POST", Pattern: "/services/{id}/readiness/attest", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.Attest},
		{Method: "GET", Pattern: "/api/v1/drills", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.api.ListDrills, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/drills", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.ServiceDrills, API: true},
		{Method: "POST", Pattern: "/api/v1/services/{id}/drills/{drill}/runs", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.RunDrill, API: true},
		{Method: "GET", Pattern: "/api/v1/services/{id}/drill-runs/{run}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.GetDrillRun, API: true},
		{Method: "POST", Pattern: "/api/v1/services/{id}/drill-runs/{run}/abort", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.api.AbortDrillRun, API: true},
		{Method: "GET", Pattern: "/drills", Role: auth.Viewer, Scope: httpx.Filtered, Handle: s.ui.DrillsPage},
		{Method: "POST", Pattern: "/services/{id}/drills/{drill}/run", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.RunDrill},
		{Method: "GET", Pattern: "/services/{id}/drill-runs/{run}", Role: auth.Viewer, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.DrillRunPage},
		{Method: "POST", Pattern: "/services/{id}/drill-runs/{run}/abort", Role: auth.Responder, Scope: httpx.InPath(httpx.Service, "id"), Handle: s.ui.AbortDrillRun},
	}
}

// windowTargets are what a maintenance window's body (JSON or form) names: every service and
// every monitor must be the caller's teams'.
var windowTargets = httpx.InBody(httpx.Service, "services").And(httpx.InBody(httpx.Monitor, "monitors"))
