// Package deploy holds the operator files (the compose file, the Helm
// chart, the Grafana dashboard, the image builder) and tests that check them.
package deploy
