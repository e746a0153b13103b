package audit

// Marketplace install actions (target: the module's slug).
const (
	ModuleInstalled           = "module_installed"
	ModuleUninstalled         = "module_uninstalled"
	ModuleVersionChanged      = "module_version_changed" // an upgrade or downgrade applied
	ModuleUpgradePending      = "module_upgrade_pending" // it waits for new capabilities to be accepted
	ModuleCapabilitiesGranted = "module_capabilities_accepted"
	ModuleConfigChanged       = "module_config_changed"
)

// marketplaceInstallActions are the installs' actions, in Actions.
var marketplaceInstallActions = []string{ModuleInstalled, ModuleUninstalled, ModuleVersionChanged, ModuleUpgradePending,
	ModuleCapabilitiesGranted, ModuleConfigChanged}
