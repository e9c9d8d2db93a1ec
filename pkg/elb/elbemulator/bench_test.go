package elbemulator

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openvessel/ccictl/pkg/elb"
)

// BenchmarkListPage measures one limit=2000 page from the middle of a
// 20,000-member pool; it should not grow with the pool size.
func BenchmarkListPage(b *testing.B) {
	for _, n := range []int{4000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			e := newTestEmulator(Options{})
			p := e.CreatePool(elb.Pool{})
			seed(b, e, p.ID, n)
			ps := e.pool(p.ID)
			ps.settle()
			marker := ps.ids[n/2-1]
			path := poolPath(p.ID, "/members?limit=2000&marker="+marker)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				req.Header.Set("X-Auth-Token", testToken)
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}

// BenchmarkBatchAddDelete adds then removes 200 members in a 10,000-member pool.
func BenchmarkBatchAddDelete(b *testing.B) {
	e := newTestEmulator(Options{MemberQuota: 1 << 20})
	p := e.CreatePool(elb.Pool{})
	seed(b, e, p.ID, 10000)
	add := map[string]any{"members": newMembers(0, 200, 9090)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var a batchAnswer
		call(b, e, http.MethodPost, poolPath(p.ID, "/members/batch-add"), add).decode(b, &a)
		refs := make([]elb.Ref, len(a.Members))
		for j, m := range a.Members {
			refs[j] = elb.Ref{ID: m.ID}
		}
		if r := call(b, e, http.MethodPost, poolPath(p.ID, "/members/batch-delete"), map[string]any{"members": refs}); r.Status != 200 {
			b.Fatal(r.Status)
		}
	}
}

// BenchmarkManyPools looks up pools among 1,000.
func BenchmarkManyPools(b *testing.B) {
	e := newTestEmulator(Options{})
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = e.CreatePool(elb.Pool{}).ID
		seed(b, e, ids[i], 10)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := call(b, e, http.MethodGet, poolPath(ids[i%len(ids)], "/members?limit=2000"), nil); r.Status != 200 {
			b.Fatal(r.Status)
		}
	}
}
