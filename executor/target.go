package executor

import (
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waddle/waddle/problem"
)

// Kind of remote executor.
type Kind string

// The kinds.
const (
	Webhook   Kind = "webhook"
	OpenWhisk Kind = "openwhisk"
	Lambda    Kind = "lambda"
)

// Limits on a Target.
const (
	DefaultTimeout = 3 * time.Second
	MaxTimeout     = 30 * time.Second
	maxURLLen      = 2048
	maxSecretLen   = 1024
)

// Target is one configured remote module endpoint.
type Target struct {
	Kind Kind
	// URL: for a webhook the URL to POST to; for OpenWhisk the API host's
	// base URL (https://openwhisk.example.com); for Lambda an optional
	// endpoint override (empty: AWS's endpoint for Region).
	URL string
	// Secret: for a webhook the HMAC key; for OpenWhisk the "uuid:key"
	// credentials; unused for Lambda.
	Secret string
	// Namespace and Action name an OpenWhisk action. Namespace defaults to
	// "_" (the credentials' own namespace); Action may be "package/action".
	Namespace, Action string
	// Function (a name, name:qualifier or ARN) and Region name a Lambda
	// function. Region may be left empty when Function is an ARN.
	Function, Region string
	// AccessKeyID and SecretAccessKey are the community's own AWS keys for
	// Lambda. Without them the server's own AWS credentials are used, which
	// needs Config.AmbientAWSCredentials.
	AccessKeyID, SecretAccessKey string
	// Timeout bounds the whole call, retries included: DefaultTimeout when
	// zero, at most MaxTimeout.
	Timeout time.Duration
}

var (
	// OpenWhisk entity names (namespace, package, action), as its controller checks them.
	openWhiskName = regexp.MustCompile(`^(?:\w|\w[\w@ .-]*[\w@.-])$`)
	// A Lambda function: name, name:qualifier, account:function:name, or a full ARN.
	lambdaFunction = regexp.MustCompile(`^(?:arn:aws[a-zA-Z-]*:lambda:[a-z]{2}(?:-[a-z]+)+-\d{1,2}:\d{12}:function:|\d{12}:function:)?[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)
	awsRegion      = regexp.MustCompile(`^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$`)
	awsAccessKeyID = regexp.MustCompile(`^[A-Z0-9]{16,128}$`)
)

// Validate checks a Target a user configured. The error is a *problem.Error
// whose Field names the field at fault.
func (t Target) Validate() error {
	if t.Timeout < 0 {
		return problem.Invalidf("Timeout", "must not be negative")
	}
	if t.Timeout > MaxTimeout {
		return problem.Invalidf("Timeout", "must be at most %s", MaxTimeout)
	}
	switch t.Kind {
	case Webhook:
		if err := checkURL("URL", t.URL); err != nil {
			return err
		}
		if t.Secret == "" {
			return problem.Invalidf("Secret", "is required to sign webhook calls")
		}
		if len(t.Secret) > maxSecretLen {
			return problem.Invalidf("Secret", "must be at most %d bytes", maxSecretLen)
		}
	case OpenWhisk:
		if err := checkURL("URL", t.URL); err != nil {
			return err
		}
		user, key, ok := strings.Cut(t.Secret, ":")
		if !ok || user == "" || key == "" {
			return problem.Invalidf("Secret", `must be the OpenWhisk credentials "uuid:key"`)
		}
		if len(t.Secret) > maxSecretLen {
			return problem.Invalidf("Secret", "must be at most %d bytes", maxSecretLen)
		}
		if t.Namespace != "" && !validOpenWhiskName(t.Namespace) {
			return problem.Invalidf("Namespace", "is not a valid OpenWhisk namespace")
		}
		if t.Action == "" {
			return problem.Invalidf("Action", "is required")
		}
		pkg, action, inPackage := strings.Cut(t.Action, "/")
		if !validOpenWhiskName(pkg) || (inPackage && !validOpenWhiskName(action)) {
			return problem.Invalidf("Action", `must be "action" or "package/action" with valid OpenWhisk names`)
		}
	case Lambda:
		if t.URL != "" {
			if err := checkURL("URL", t.URL); err != nil {
				return err
			}
		}
		if t.Function == "" {
			return problem.Invalidf("Function", "is required")
		}
		if !lambdaFunction.MatchString(t.Function) {
			return problem.Invalidf("Function", "must be a Lambda function name, name:qualifier or ARN")
		}
		if t.Region != "" && !awsRegion.MatchString(t.Region) {
			return problem.Invalidf("Region", "is not an AWS region name such as us-east-1")
		}
		if t.region() == "" {
			return problem.Invalidf("Region", "is required unless Function is an ARN")
		}
		if (t.AccessKeyID == "") != (t.SecretAccessKey == "") {
			return problem.Invalidf("AccessKeyID", "and SecretAccessKey must be given together")
		}
		if t.AccessKeyID != "" && !awsAccessKeyID.MatchString(t.AccessKeyID) {
			return problem.Invalidf("AccessKeyID", "is not an AWS access key ID")
		}
		if len(t.SecretAccessKey) > 128 || !utf8.ValidString(t.SecretAccessKey) {
			return problem.Invalidf("SecretAccessKey", "is not an AWS secret access key")
		}
	default:
		return problem.Invalidf("Kind", "must be %q, %q or %q", Webhook, OpenWhisk, Lambda)
	}
	return nil
}

func checkURL(field, raw string) error {
	if raw == "" {
		return problem.Invalidf(field, "is required")
	}
	if len(raw) > maxURLLen {
		return problem.Invalidf(field, "must be at most %d characters", maxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return problem.Invalidf(field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return problem.Invalidf(field, "must start with https:// or http://")
	}
	if u.Hostname() == "" {
		return problem.Invalidf(field, "must name a host")
	}
	if u.User != nil {
		return problem.Invalidf(field, "must not contain a user name or password")
	}
	if u.Fragment != "" {
		return problem.Invalidf(field, "must not contain a #fragment")
	}
	return nil
}

func validOpenWhiskName(s string) bool {
	return len(s) <= 256 && openWhiskName.MatchString(s)
}

func (t Target) timeout() time.Duration {
	if t.Timeout == 0 {
		return DefaultTimeout
	}
	return t.Timeout
}

func (t Target) namespace() string {
	if t.Namespace == "" {
		return "_"
	}
	return t.Namespace
}

// region is Region, or the region named in a Lambda ARN.
func (t Target) region() string {
	if t.Region != "" {
		return t.Region
	}
	if rest, ok := strings.CutPrefix(t.Function, "arn:"); ok {
		if parts := strings.Split(rest, ":"); len(parts) > 2 {
			return parts[2]
		}
	}
	return ""
}

// key identifies the target for its circuit breaker. It holds no secret but
// may hold a URL with a token in it, so it is never logged.
func (t Target) key() string {
	return strings.Join([]string{string(t.Kind), t.URL, t.namespace(), t.Action, t.Function, t.region()}, "\x00")
}

// label names the target in logs and errors without anything secret: a
// webhook URL's path and query may hold a token, so only its host is shown.
func (t Target) label() string {
	host := ""
	if u, err := url.Parse(t.URL); err == nil {
		host = u.Host
	}
	switch t.Kind {
	case OpenWhisk:
		return "openwhisk " + host + " " + t.namespace() + "/" + t.Action
	case Lambda:
		if host != "" {
			return "lambda " + t.Function + " at " + host
		}
		return "lambda " + t.Function + " in " + t.region()
	default:
		return string(t.Kind) + " " + host
	}
}
