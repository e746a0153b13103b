// Package deploy holds the operator files and the tests that check them.
package deploy
