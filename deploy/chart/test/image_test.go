package test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/openvessel/ccictl/deploy/chart/test/chartrender"
	"github.com/openvessel/ccictl/pkg/testenv"
)

// releaseConfig is the part of .goreleaser.yaml the image, its SBOM and
// the signatures depend on.
type releaseConfig struct {
	Builds []struct {
		ID      string   `json:"id"`
		Main    string   `json:"main"`
		Env     []string `json:"env"`
		Flags   []string `json:"flags"`
		Ldflags []string `json:"ldflags"`
		Goos    []string `json:"goos"`
		Goarch  []string `json:"goarch"`
	} `json:"builds"`
	Kos []struct {
		ID           string   `json:"id"`
		Build        string   `json:"build"`
		Main         string   `json:"main"`
		Env          []string `json:"env"`
		Flags        []string `json:"flags"`
		Ldflags      []string `json:"ldflags"`
		BaseImage    string   `json:"base_image"`
		User         string   `json:"user"`
		Repositories []string `json:"repositories"`
		Bare         bool     `json:"bare"`
		Platforms    []string `json:"platforms"`
		Tags         []string `json:"tags"`
		SBOM         string   `json:"sbom"`
	} `json:"kos"`
	SBOMs []struct {
		Artifacts string `json:"artifacts"`
		Cmd       string `json:"cmd"`
	} `json:"sboms"`
	Signs []struct {
		Cmd       string   `json:"cmd"`
		Artifacts string   `json:"artifacts"`
		Args      []string `json:"args"`
	} `json:"signs"`
	DockerSigns []struct {
		Cmd       string   `json:"cmd"`
		Artifacts string   `json:"artifacts"`
		IDs       []string `json:"ids"`
		Args      []string `json:"args"`
	} `json:"docker_signs"`
}

// The image's user: distroless' nonroot (UID and GID 65532).
const nonrootUser = "65532:65532"

// TestImageMatchesRelease: the image the release builds (.goreleaser.yaml
// kos) is the one deploy/, the chart and docs/deploy.md run and describe:
// the same repository, a tag the release pushes, the same non-root user,
// the platforms; it is built from the archives' build with nothing
// overridden, on a base without a shell; the release writes SBOMs and signs
// checksums and image with cosign. The base image's registry cannot be
// reached from the test machines, so this checks the configuration that
// `goreleaser check` (make release-check) validates, not a pulled image.
func TestImageMatchesRelease(t *testing.T) {
	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var cfg releaseConfig
	if err := yaml.Unmarshal([]byte(read(".goreleaser.yaml")), &cfg); err != nil {
		t.Fatalf(".goreleaser.yaml: %v", err)
	}
	if len(cfg.Kos) != 1 || len(cfg.Builds) != 1 {
		t.Fatalf(".goreleaser.yaml: %d kos entries and %d builds, want one image built from the one build", len(cfg.Kos), len(cfg.Builds))
	}
	ko, build := cfg.Kos[0], cfg.Builds[0]

	// The same binary as the archives: ko takes env, flags, ldflags and
	// main from the build it names unless they are set here.
	if ko.Build != build.ID || (ko.Main != "" && ko.Main != build.Main) || len(ko.Env)+len(ko.Flags)+len(ko.Ldflags) != 0 {
		t.Errorf("kos: build %q main %q env %q flags %q ldflags %q: want build %q and nothing overridden", ko.Build, ko.Main, ko.Env, ko.Flags, ko.Ldflags, build.ID)
	}
	if !slices.Contains(build.Env, "CGO_ENABLED=0") || !slices.Contains(build.Flags, "-trimpath") {
		t.Errorf("build %s: env %q flags %q, want a static (CGO_ENABLED=0), -trimpath build", build.ID, build.Env, build.Flags)
	}
	// No shell, non-root.
	if !strings.HasPrefix(ko.BaseImage, "gcr.io/distroless/static") || !strings.HasSuffix(ko.BaseImage, ":nonroot") {
		t.Errorf("kos base_image %q: want distroless static (no shell) :nonroot", ko.BaseImage)
	}
	if ko.User != nonrootUser {
		t.Errorf("kos user %q, want %q", ko.User, nonrootUser)
	}
	// Platforms: linux amd64 and arm64, which the build compiles.
	wantPlatforms := []string{"linux/amd64", "linux/arm64"}
	if !slices.Equal(ko.Platforms, wantPlatforms) {
		t.Errorf("kos platforms %q, want %q", ko.Platforms, wantPlatforms)
	}
	for _, p := range ko.Platforms {
		goos, arch, _ := strings.Cut(p, "/")
		if !slices.Contains(build.Goos, goos) || !slices.Contains(build.Goarch, arch) {
			t.Errorf("kos platform %s is not among the build's goos %q goarch %q", p, build.Goos, build.Goarch)
		}
	}
	// Repository: exactly one, used as is (bare).
	if len(ko.Repositories) != 1 || !ko.Bare {
		t.Fatalf("kos repositories %q bare %v: want one repository, bare", ko.Repositories, ko.Bare)
	}
	repo := ko.Repositories[0]
	// Tags: the release's git tag (vX.Y.Z) and latest.
	if !slices.Equal(ko.Tags, []string{"{{ .Tag }}", "latest"}) {
		t.Errorf("kos tags %q, want the git tag and latest", ko.Tags)
	}
	releaseTag := regexp.MustCompile(`^(latest|v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)$`)

	// deploy/ (kustomize) and the chart's default render.
	images := map[string]appsv1.Deployment{}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(read("deploy/deployment.yaml")), &d); err != nil {
		t.Fatalf("deploy/deployment.yaml: %v", err)
	}
	images["deploy/deployment.yaml"] = d
	objs, _ := render(t, variant{name: "defaults", release: "ccictl", namespace: "ccictl-system"})
	images["the chart's default render"] = deployment(t, objs)
	for where, d := range images {
		c := d.Spec.Template.Spec.Containers[0]
		name, tag, ok := strings.Cut(c.Image, ":")
		if !ok || name != repo || !releaseTag.MatchString(tag) {
			t.Errorf("%s runs %s: want %s with a tag the release pushes (vX.Y.Z or latest)", where, c.Image, repo)
		}
		sc := d.Spec.Template.Spec.SecurityContext
		if sc == nil || sc.RunAsUser == nil || sc.RunAsGroup == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
			strings.Join([]string{itoa(*sc.RunAsUser), itoa(*sc.RunAsGroup)}, ":") != nonrootUser {
			t.Errorf("%s: pod security context %+v, want runAsNonRoot as %s (the image's user)", where, sc, nonrootUser)
		}
	}
	c, err := chartrender.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !releaseTag.MatchString(c.Metadata.AppVersion) {
		t.Errorf("Chart.yaml appVersion %q: want a tag the release pushes (vX.Y.Z or latest)", c.Metadata.AppVersion)
	}

	// docs/deploy.md says the same.
	doc := read("docs/deploy.md")
	for _, want := range []string{repo + ":<version>", repo + ":latest", "name: " + repo, "linux/amd64", "linux/arm64", "UID 65532", ko.BaseImage} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/deploy.md does not say %q", want)
		}
	}

	// Release metadata: an SBOM per archive (syft) and per image (ko),
	// cosign keyless signatures of the checksums and of the image.
	if ko.SBOM != "spdx" {
		t.Errorf("kos sbom %q, want spdx", ko.SBOM)
	}
	if len(cfg.SBOMs) != 1 || cfg.SBOMs[0].Artifacts != "archive" || cfg.SBOMs[0].Cmd != "syft" {
		t.Errorf("sboms %+v, want syft over every archive", cfg.SBOMs)
	}
	if len(cfg.Signs) != 1 || cfg.Signs[0].Cmd != "cosign" || cfg.Signs[0].Artifacts != "checksum" || !slices.Contains(cfg.Signs[0].Args, "sign-blob") ||
		slices.ContainsFunc(cfg.Signs[0].Args, func(a string) bool { return strings.HasPrefix(a, "--key") }) {
		t.Errorf("signs %+v, want keyless cosign sign-blob of the checksums", cfg.Signs)
	}
	if len(cfg.DockerSigns) != 1 || cfg.DockerSigns[0].Cmd != "cosign" || cfg.DockerSigns[0].Artifacts != "manifests" || !slices.Contains(cfg.DockerSigns[0].IDs, ko.ID) ||
		slices.ContainsFunc(cfg.DockerSigns[0].Args, func(a string) bool { return strings.HasPrefix(a, "--key") }) {
		t.Errorf("docker_signs %+v, want keyless cosign of the ko image index %s", cfg.DockerSigns, ko.ID)
	}
	for _, want := range []string{"cosign verify-blob", "cosign verify " + repo, "--certificate-identity", "--certificate-oidc-issuer", "sha256sum"} {
		if !strings.Contains(doc, want) {
			t.Errorf("docs/deploy.md does not show how to verify a release (%q)", want)
		}
	}
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}
