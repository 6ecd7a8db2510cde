// Command server is the Temporal server v1.29.1 (the module's cmd/server `start`, unchanged otherwise) with the
// stack's claim mapper: a client certificate whose subject CN is listed in TEMPORAL_CERT_PERMISSIONS gets those
// permissions (the project's worker: namespace write; the server's own system worker: admin); every other caller
// is judged by its JWT (the default claim mapper and authorizer, global.authorization in the config). Temporal's
// default mapper ignores the mTLS subject, so certificate identity needs a ClaimMapper of our own
// (temporal.WithClaimMapper, as temporalio/samples-server extensibility/authorizer shows).
//
//	server --root DIR --config config --env stack start --service frontend
//	TEMPORAL_CERT_PERMISSIONS="worker=default:write;internode=temporal-system:admin"
//
// JWT keys: the default key provider fetches global.authorization.jwtKeyProvider.keySourceURIs with http.Get;
// file:// is registered on the default transport here, so the stack's JWKS is read from its file (and re-read
// every refreshInterval) without a web server.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path"
	"strings"

	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql" // the stack's database
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/temporal"
)

type services []string

func (s *services) String() string     { return strings.Join(*s, ",") }
func (s *services) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	root := flag.String("root", ".", "root directory of execution environment")
	configDir := flag.String("config", "config", "config dir path relative to root")
	env := flag.String("env", "development", "runtime environment (the config file's name)")
	flag.Parse()
	if flag.Arg(0) != "start" {
		fail("usage: server --root DIR --config DIR --env NAME start --service NAME [--service NAME ...]")
	}
	start := flag.NewFlagSet("start", flag.ExitOnError)
	var svc services
	start.Var(&svc, "service", "service to start (repeatable)")
	_ = start.Parse(flag.Args()[1:])
	if len(svc) == 0 {
		svc = temporal.DefaultServices
	}

	cfg, err := config.LoadConfig(*env, path.Join(*root, *configDir), "")
	if err != nil {
		fail("Unable to load configuration: %v", err)
	}
	logger := log.NewZapLogger(log.BuildZapLogger(cfg.Log))

	byCert, err := parseCertPermissions(os.Getenv("TEMPORAL_CERT_PERMISSIONS"))
	if err != nil {
		fail("TEMPORAL_CERT_PERMISSIONS: %v", err)
	}
	http.DefaultTransport.(*http.Transport).RegisterProtocol("file", http.NewFileTransport(http.Dir("/")))

	var dc dynamicconfig.Client = dynamicconfig.NewNoopClient()
	if cfg.DynamicConfigClient != nil {
		if dc, err = dynamicconfig.NewFileBasedClient(cfg.DynamicConfigClient, logger, temporal.InterruptCh()); err != nil {
			fail("Unable to create dynamic config client: %v", err)
		}
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		fail("Unable to instantiate authorizer: %v", err)
	}
	if authorization.IsNoopAuthorizer(authorizer) {
		fail("global.authorization.authorizer is not set: this server is for the stack, which always authorizes")
	}
	jwtMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		fail("Unable to instantiate claim mapper: %v", err)
	}
	audience, err := authorization.GetAudienceMapperFromConfig(&cfg.Global.Authorization)
	if err != nil {
		fail("Unable to instantiate audience mapper: %v", err)
	}
	mapper := &certOrToken{byCert: byCert, jwt: jwtMapper}
	logger.Info("claim mapper: client certificates by subject CN, else the JWT", tag.NewStringTag("cert-permissions", os.Getenv("TEMPORAL_CERT_PERMISSIONS")))

	s, err := temporal.NewServer(
		temporal.ForServices(svc),
		temporal.WithConfig(cfg),
		temporal.WithDynamicConfigClient(dc),
		temporal.WithLogger(logger),
		temporal.InterruptOn(temporal.InterruptCh()),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return mapper }),
		temporal.WithAudienceGetter(func(*config.Config) authorization.JWTAudienceMapper { return audience }),
	)
	if err != nil {
		fail("Unable to create server: %v", err)
	}
	if err := s.Start(); err != nil {
		fail("Unable to start server: %v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// certOrToken: a listed certificate subject is that identity, whatever token comes with it; otherwise the JWT decides
// (no token, no claims: the default authorizer refuses everything but health checks).
type certOrToken struct {
	byCert map[string]authorization.Claims
	jwt    authorization.ClaimMapper
}

func (m *certOrToken) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info.TLSSubject != nil {
		if c, ok := m.byCert[info.TLSSubject.CommonName]; ok {
			claims := c
			claims.Namespaces = make(map[string]authorization.Role, len(c.Namespaces))
			for ns, r := range c.Namespaces {
				claims.Namespaces[ns] = r
			}
			return &claims, nil
		}
	}
	return m.jwt.GetClaims(info)
}

func (m *certOrToken) AuthInfoRequired() bool { return true }

var roles = map[string]authorization.Role{
	"read": authorization.RoleReader, "write": authorization.RoleWriter, "worker": authorization.RoleWorker, "admin": authorization.RoleAdmin,
}

// parseCertPermissions reads "CN=ns:role,ns:role;CN=..." with the JWT permissions' syntax (temporal-system:<role> is
// system-wide).
func parseCertPermissions(spec string) (map[string]authorization.Claims, error) {
	out := map[string]authorization.Claims{}
	for _, entry := range strings.Split(spec, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		cn, perms, ok := strings.Cut(entry, "=")
		if !ok || cn == "" {
			return nil, fmt.Errorf("%q: want CN=namespace:role[,namespace:role]", entry)
		}
		c := authorization.Claims{Subject: "cert:" + cn, Namespaces: map[string]authorization.Role{}}
		for _, p := range strings.Split(perms, ",") {
			ns, role, ok := strings.Cut(strings.TrimSpace(p), ":")
			r, known := roles[role]
			if !ok || !known || ns == "" {
				return nil, fmt.Errorf("%q: want namespace:read|write|worker|admin", p)
			}
			if ns == primitives.SystemLocalNamespace {
				c.System |= r
			} else {
				c.Namespaces[ns] |= r
			}
		}
		out[cn] = c
	}
	return out, nil
}
