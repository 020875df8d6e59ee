package remote_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// badJSON is a codec named json that sends what JSON cannot decode.
type badJSON struct{}

func (badJSON) Name() string                    { return "json" }
func (badJSON) Marshal(any) ([]byte, error)     { return []byte("{not json"), nil }
func (badJSON) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// otherCodec is a codec the serving node does not know.
type otherCodec struct{ badJSON }

func (otherCodec) Name() string { return "msgpack" }

// TestRefusedBeforeHandler: oversized, unauthorized, unexported,
// malformed requests and unknown codecs are each refused with a clear
// error, reported, and reach no handler.
func TestRefusedBeforeHandler(t *testing.T) {
	rs := newRefusals()
	authorize := func(name, method string, h map[string][]string) error {
		if method == "echo" && (len(h["Token"]) == 0 || h["Token"][0] != "s3cret") {
			return errors.New("bad token")
		}
		return nil
	}
	_, cli, _, a := pair(t, remote.WithMaxMessage(1024), remote.WithRefusalHook(rs.hook),
		remote.WithAuthorizer(func(name, method string, h natsHeader) error { return authorize(name, method, h) }))
	ctx := ctxTimeout(t, 10*time.Second)
	tests := []struct {
		name   string
		call   func() error
		want   error
		reason string // "" : not refused by the serving node
	}{
		{"oversized", func() error {
			_, err := remote.Bind(cli, "acct", Deposit, remote.WithCodec(bigCodec{})).Call(ctx, 1)
			return err
		}, remote.ErrTooLarge, remote.ReasonTooLarge},
		{"unauthorized", func() error {
			_, err := remote.Bind(cli, "acct", Echo).Call(ctx, "x")
			return err
		}, remote.ErrUnauthorized, remote.ReasonUnauthorized},
		{"wrong token", func() error {
			_, err := remote.Bind(cli, "acct", Echo, remote.WithHeader("Token", "guess")).Call(ctx, "x")
			return err
		}, remote.ErrUnauthorized, remote.ReasonUnauthorized},
		{"malformed", func() error {
			_, err := remote.Bind(cli, "acct", Deposit, remote.WithCodec(badJSON{})).Call(ctx, 1)
			return err
		}, remote.ErrBadRequest, remote.ReasonMalformed},
		{"unknown codec", func() error {
			_, err := remote.Bind(cli, "acct", Deposit, remote.WithCodec(otherCodec{})).Call(ctx, 1)
			return err
		}, remote.ErrBadRequest, remote.ReasonMalformed},
		{"unexported method", func() error {
			_, err := remote.Bind(cli, "acct", Withdraw).Call(ctx, 1)
			return err
		}, remote.ErrNotFound, ""},
		{"unexported name", func() error {
			_, err := remote.Bind(cli, "vault", Deposit).Call(ctx, 1)
			return err
		}, remote.ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
			if tt.reason != "" {
				if r := rs.wait(t); r.Reason != tt.reason {
					t.Fatalf("refusal %+v; want reason %s", r, tt.reason)
				}
			}
			if got := a.hits.Load(); got != 0 {
				t.Fatalf("handlers ran %d times; want 0", got)
			}
		})
	}
	// The right token passes.
	got, err := remote.Bind(cli, "acct", Echo, remote.WithHeader("Token", "s3cret")).Call(ctx, "in")
	if err != nil || got != "in" {
		t.Fatalf("authorized call = %q, %v; want in, nil", got, err)
	}
}

// bigCodec encodes every request as 2 KiB of JSON.
type bigCodec struct{}

func (bigCodec) Name() string { return "json" }
func (bigCodec) Marshal(any) ([]byte, error) {
	return []byte(`"` + strings.Repeat("x", 2048) + `"`), nil
}
func (bigCodec) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestReplyTooLarge: a reply over the caller's cap is refused before it is
// decoded.
func TestReplyTooLarge(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL(), remote.WithMaxMessage(512))
	export(t, srv, "acct")
	ctx := ctxTimeout(t, 10*time.Second)
	// The request fits the server's cap, the reply does not fit ours.
	_, err := remote.Bind(cli, "acct", Echo).Call(ctx, strings.Repeat("y", 600))
	if !errors.Is(err, remote.ErrTooLarge) {
		t.Fatalf("got %v; want ErrTooLarge", err)
	}
	// And a reply over the serving node's cap is not sent.
	srv2 := startNode(t, s.ClientURL(), remote.WithMaxMessage(512))
	export(t, srv2, "small")
	_, err = remote.Bind(cli, "small", Echo, remote.WithCodec(bigCodec{})).Call(ctx, "")
	if !errors.Is(err, remote.ErrTooLarge) {
		t.Fatalf("got %v; want ErrTooLarge", err)
	}
}

// TestNATSAuth: user/password, token, nkey and TLS with a CA file reach
// the server; without them the node is refused.
func TestNATSAuth(t *testing.T) {
	dir := t.TempDir()
	seed, pub := nkeyUser(t, dir)
	caFile, tlsConf := tlsFiles(t, dir)
	tests := []struct {
		name   string
		server func(*server.Options)
		good   []remote.Option
		bad    []remote.Option
		scheme string
	}{
		{"user and password", func(o *server.Options) { o.Username, o.Password = "harp", "secret" },
			[]remote.Option{remote.WithUserInfo("harp", "secret")}, []remote.Option{remote.WithUserInfo("harp", "wrong")}, ""},
		{"token", func(o *server.Options) { o.Authorization = "t0k3n" },
			[]remote.Option{remote.WithToken("t0k3n")}, nil, ""},
		{"nkey", func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: pub}} },
			[]remote.Option{remote.WithNkeySeed(seed)}, nil, ""},
		{"tls ca file", func(o *server.Options) { o.TLSConfig, o.TLS = tlsConf, true },
			[]remote.Option{remote.WithCAFile(caFile)}, nil, "tls://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, embedded.WithoutJetStream(), embedded.WithConfig(tt.server))
			url := s.ClientURL()
			if tt.scheme != "" {
				_, hostPort, _ := strings.Cut(url, "://")
				url = tt.scheme + hostPort
			}
			ctx := ctxTimeout(t, 5*time.Second)
			n, err := remote.Start(ctx, newRuntime(t), append([]remote.Option{remote.WithURL(url)}, tt.good...)...)
			if err != nil {
				t.Fatalf("Start with credentials: %v", err)
			}
			export(t, n, "acct")
			if got, err := remote.Bind(n, "acct", Echo).Call(ctx, "ok"); err != nil || got != "ok" {
				t.Fatalf("Call = %q, %v; want ok, nil", got, err)
			}
			_ = n.Close()
			bad, err := remote.Start(ctx, newRuntime(t), append([]remote.Option{remote.WithURL(url), remote.WithNATSOptions(natsNoReconnect())}, tt.bad...)...)
			if err == nil {
				_ = bad.Close()
				t.Fatalf("Start without valid credentials: got nil error; want one")
			}
		})
	}
}

// nkeyUser writes a user nkey's seed to dir and returns its file and
// public key.
func nkeyUser(t *testing.T, dir string) (seedFile, pub string) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := kp.Seed()
	pub, _ = kp.PublicKey()
	seedFile = filepath.Join(dir, "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatal(err)
	}
	return seedFile, pub
}

// tlsFiles makes a CA and a server certificate for 127.0.0.1, writes the
// CA to dir, and returns its file and the server's TLS config.
func tlsFiles(t *testing.T, dir string) (string, *tls.Config) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "troupe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return caFile, &tls.Config{MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// fatInts is JSON with every int reply padded to 5000 bytes (JSON allows
// the spaces), and its requests of struct{} left small.
type fatInts struct{}

func (fatInts) Name() string { return "fat" }
func (fatInts) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	if _, ok := v.(int); ok {
		b = append(b, strings.Repeat(" ", 5000)...)
	}
	return b, err
}
func (fatInts) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestReplyOverMaxPayload: a reply within the serving node's cap but over
// the server's maximum payload, which the connection refuses, is answered
// ErrTooLarge at once. Its publish error was dropped: the caller waited
// for its deadline and got ErrTimeout.
func TestReplyOverMaxPayload(t *testing.T) {
	s := startServer(t, embedded.WithMaxPayload(4096))
	srv := startNode(t, s.ClientURL(), remote.WithCodecs(fatInts{}))
	cli := startNode(t, s.ClientURL())
	export(t, srv, "acct")
	ctx := ctxTimeout(t, 5*time.Second)
	_, err := remote.Bind(cli, "acct", Balance, remote.WithCodec(fatInts{})).Call(ctx, struct{}{})
	if !errors.Is(err, remote.ErrTooLarge) {
		t.Fatalf("got %v; want ErrTooLarge", err)
	}
}
