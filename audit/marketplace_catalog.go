package audit

// Marketplace catalogue actions: publishing, and global admins' moderation.
const (
	MarketplaceModuleCreated  = "marketplace_module_created"    // target: the module's slug
	MarketplaceVersionAdded   = "marketplace_version_published" // target: slug@version
	MarketplaceModuleUnlisted = "marketplace_module_unlisted"
	MarketplaceModuleRelisted = "marketplace_module_relisted"
	MarketplaceVersionYanked  = "marketplace_version_yanked"
	DeveloperFlagChanged      = "developer_flag_changed" // target: the user's email
)

// marketplaceCatalogActions are the catalogue's actions, in Actions.
var marketplaceCatalogActions = []string{MarketplaceModuleCreated, MarketplaceVersionAdded, MarketplaceModuleUnlisted,
	MarketplaceModuleRelisted, MarketplaceVersionYanked, DeveloperFlagChanged}
