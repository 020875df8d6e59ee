package remote

import (
	"testing"

	"github.com/nats-io/nats.go/micro"
)

// TestServiceVersionPrerelease: a Service's version is the highest of
// its instances' by semver's precedence, whatever order their answers
// came in: a release above its pre-releases, pre-releases ordered by
// their identifiers. Pre-releases were ignored, so that of 1.2.0 and
// 1.2.0-rc.1 the first to answer won.
func TestServiceVersionPrerelease(t *testing.T) {
	tests := []struct {
		versions []string
		want     string
	}{
		{[]string{"1.2.0-rc.1", "1.2.0"}, "1.2.0"},
		{[]string{"1.2.0", "1.2.0-rc.1"}, "1.2.0"},
		{[]string{"1.2.0-rc.2", "1.2.0-rc.10"}, "1.2.0-rc.10"},
		{[]string{"1.2.0-rc.10", "1.2.0-rc.2"}, "1.2.0-rc.10"},
		{[]string{"1.2.0-beta", "1.2.0-alpha"}, "1.2.0-beta"},
		{[]string{"1.2.0-alpha.1", "1.2.0-alpha"}, "1.2.0-alpha.1"},
		{[]string{"1.2.0-alpha", "1.2.0-1"}, "1.2.0-alpha"},
		{[]string{"1.1.9", "1.2.0-rc.1"}, "1.2.0-rc.1"},
	}
	for _, tt := range tests {
		var infos []micro.Info
		for i, v := range tt.versions {
			infos = append(infos, micro.Info{ServiceIdentity: micro.ServiceIdentity{
				Name: "svc", ID: string(rune('a' + i)), Version: v}})
		}
		if got := serviceOf("svc", infos).Version; got != tt.want {
			t.Errorf("version of instances %v: got %s; want %s", tt.versions, got, tt.want)
		}
	}
}
