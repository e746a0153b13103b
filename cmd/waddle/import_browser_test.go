package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"github.com/waddle/waddle/community"
)

// Hand-written in the shape of a Streamlabs Chatbot command export.
const browserStreamlabsExport = `[
 {"Command":"!lurk","Permission":"Everyone","Info":"","Group":"GENERAL","Response":"$username is now lurking!","Cooldown":1,"UserCooldown":5,"Cost":0,"Count":12,"Usage":"SC","Enabled":true},
 {"Command":"!weather","Permission":"Everyone","Info":"","Group":"GENERAL","Response":"$readapi(https://wttr.in/?format=3)","Cooldown":0,"UserCooldown":0,"Cost":0,"Count":0,"Usage":"SC","Enabled":true}
]`

// currencySheet writes a Streamlabs currency export (Name, Rank, Points, Hours).
func currencySheet(t *testing.T, dir string, rows [][]any) string {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", "Currency"); err != nil {
		t.Fatal(err)
	}
	for i, r := range append([][]any{{"Name", "Rank", "Points", "Hours"}}, rows...) {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Currency", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "Currency.xlsx")
	if err := x.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportBrowser moves a community in from Streamlabs Chatbot in
// headless Chromium: upload the command export and the currency sheet, read
// the preview, apply, watch the progress bar reach 100 %, land on the
// report, and find a viewer's imported balance with !points in the
// simulator.
func TestImportBrowser(t *testing.T) {
	t.Parallel()
	h := startHub(t)
	const (
		email    = "ada@example.com"
		password = "ada-runs-the-waddle-hub"
	)
	mustRunWaddle(t, setVars(h.vars, "WADDLE_ADMIN_PASSWORD", password), "admin", "create", "--email", email, "--name", "Ada Admin", "--admin")
	a := openTestApp(t, h.vars)
	ada := mustSignIn(t, a, email, password)
	c, err := a.comm.Create(t.Context(), ada, "", "duck-pond", community.Settings{Name: "Duck Pond"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	commands := filepath.Join(dir, "general.abcomg")
	if err := os.WriteFile(commands, []byte(browserStreamlabsExport), 0o600); err != nil {
		t.Fatal(err)
	}
	sheet := currencySheet(t, dir, [][]any{{"Dora", "Duckling", 4242, 12.5}, {"neverchatted", "Egg", 7, 0}})

	console := &browserConsole{}
	b := &tab{t: t, ctx: startBrowser(t, console), base: h.base}
	defer func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the pages caused %d console errors:\n%s", len(errs), strings.Join(errs, "\n"))
		}
	}()
	b.open("/signin")
	b.signIn(email, password)
	b.wantPath("/")

	// Dora has chatted here before (a live message in the simulator), so
	// her Streamlabs balance finds her account.
	b.open(fmt.Sprintf("/c/%d/simulator", c.ID))
	b.do("say hello as dora, for real",
		fill(tid("sim-user"), "dora"),
		fill(tid("sim-text"), "hello ducks"),
		chromedp.Click(tid("sim-dry-run")),
		chromedp.Click(tid("sim-submit")))
	b.waitFor("wait for the question before the first real run", `!!document.querySelector('[data-testid="sim-confirm"]')`)
	b.do("confirm the real run", chromedp.Click(tid("sim-confirm-yes")))
	b.waitFor("wait for dora's message", `document.querySelectorAll('[data-testid="sim-entry"]').length === 1`)

	var earned int64 // what dora's hello earned her, before the import
	if err := a.pool.QueryRow(t.Context(), "SELECT COALESCE(sum(delta), 0) FROM points_ledger WHERE community_id = $1", c.ID).Scan(&earned); err != nil {
		t.Fatal(err)
	}

	b.open(fmt.Sprintf("/c/%d/imports", c.ID))
	b.do("pick Streamlabs Chatbot", chromedp.Click(tid("import-source-streamlabs")))
	b.waitFor("wait for the upload form", `!!document.querySelector('[data-testid="import-upload-form"]')`)
	b.do("upload the export and the sheet", chromedp.SetUploadFiles(tid("import-files"), []string{commands, sheet}))
	b.submit("read the files", tid("import-read"))
	b.waitFor("wait for the preview", `!!document.querySelector('[data-testid="import-apply-form"]')`)
	b.wantText(tid("import-points-viewers"), "2")
	b.wantText(tid("import-points-matched"), "1")
	b.wantText(tid("import-points-pending"), "1")
	b.wantText(tid("import-points-total"), "4249")
	if !b.js(`document.querySelector('[data-testid="import-command-adapted"] [data-name="!weather"] [data-testid="import-attention"]') !== null`) {
		t.Error("!weather is not marked as needing attention")
	}
	if !b.js(`document.querySelector('[data-testid="import-command-adapted"] [data-name="!lurk"] [data-testid="import-text"]').textContent.includes("{user}")`) {
		t.Error("!lurk's translation is not shown")
	}

	b.submit("apply", tid("import-apply"))
	b.waitFor("wait for the progress bar", `!!document.querySelector('[data-testid="import-progress"]') || !!document.querySelector('[data-testid="import-report"]')`)
	if b.js(`!!document.querySelector('[data-testid="import-progress"]')`) {
		b.waitFor("wait for 100 %", `(document.querySelector('[data-testid="import-progress"]') || {value: 100}).value === 100`)
	}
	b.waitFor("wait for the report", `!!document.querySelector('[data-testid="import-report"]')`)
	b.wantText(chromedp.CSS(`[data-testid="import-count"][data-label="Commands"]`), "2")
	b.wantText(chromedp.CSS(`[data-testid="import-count"][data-label="Viewers credited"]`), "1")
	b.wantText(tid("import-report-pending"), "1")
	if !b.js(`!!document.querySelector('[data-testid="import-undo"]')`) {
		t.Error("the report offers no undo")
	}

	b.open(fmt.Sprintf("/c/%d/simulator", c.ID))
	b.do("ask for dora's points",
		fill(tid("sim-user"), "dora"),
		fill(tid("sim-text"), "!points"))
	b.do("send", chromedp.Click(tid("sim-submit")))
	b.waitFor("wait for the answer", `document.querySelectorAll('[data-testid="sim-entry"]').length === 1`)
	if got := b.text(chromedp.CSS(`[data-testid="sim-entry"]:last-child [data-testid="sim-reply"]`)); !strings.Contains(got, fmt.Sprintf(" %d points", 4242+earned)) {
		t.Errorf("!points answers %q, want dora's imported 4242 and the %d she earned here", got, earned)
	}
}
