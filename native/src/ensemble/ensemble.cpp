#include "ensemble/ensemble.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/threads.h"

namespace rx {
namespace ensemble {

using tree::Data;
using tree::GrowParams;
using tree::Rng;
using tree::RowStats;
using tree::Tree;

namespace {
const char* kObjectives[] = {"gaussian", "bernoulli", "multinomial", "poisson"};

double boost_loss(int obj, const double* y, const double* w, const double* s, int64_t n, int K) {
  double L = 0, W = 0;
  for (int64_t i = 0; i < n; ++i) {
    double l;
    if (obj == 0) {
      double r = y[i] - s[i];
      l = r * r;
    } else if (obj == 1) {
      double z = s[i];
      l = std::log1p(std::exp(-std::fabs(z))) + std::max(z, 0.0) - y[i] * z;
    } else if (obj == 3) {
      l = std::exp(s[i]) - y[i] * s[i];
    } else {
      double mx = -1e300;
      for (int k = 0; k < K; ++k) mx = std::max(mx, s[i * K + k]);
      double z = 0;
      for (int k = 0; k < K; ++k) z += std::exp(s[i * K + k] - mx);
      l = -(s[i * K + static_cast<int>(y[i])] - mx - std::log(z));
    }
    L += w[i] * l;
    W += w[i];
  }
  return W > 0 ? L / W : 0;
}
}  // namespace

Result train_boost(const Data& d0, const double* y, const double* w, const BoostParams& p) {
  const int64_t n = d0.n;
  // no row-major copy here: boosting's leaves are large (the smaller child of each split is
  // built), column-wise histograms cost the same CPU and the copy would add n*p bytes
  const Data& d = d0;
  std::unique_ptr<Objective> obj(make_objective(kObjectives[p.objective], p.numClass));
  const int K = obj->num_outputs();
  Result res;
  res.init.assign(K, 0);
  if (p.haveInit) {
    for (int k = 0; k < K; ++k) res.init[k] = p.init[k % p.init.size()];
  } else {
    obj->init_score(y, w, n, res.init.data());
  }
  std::vector<double> score(static_cast<std::size_t>(n) * K);
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < K; ++k) score[i * K + k] = res.init[k];
  // K == 1: (h, g) packed per row (one cache line per row when a leaf gathers them); else class-major g, h
  std::vector<double> g, h, pk;
  if (K == 1)
    pk.resize(static_cast<std::size_t>(n) * 2);
  else {
    g.resize(static_cast<std::size_t>(n) * K);
    h.resize(static_cast<std::size_t>(n) * K);
  }
  std::vector<int64_t> all;  // rows with positive weight (zero-weight rows take no part)
  for (int64_t i = 0; i < n; ++i)
    if (w[i] > 0) all.push_back(i);
  if (all.empty()) throw Error("RX_ARG", "no rows with positive weight");
  std::vector<int64_t> rows;
  std::vector<uint8_t> inBag(n, 1);
  GrowParams gp = p.grow;
  gp.K = 1;
  gp.gradient = true;
  tree::GrowWorkspace ws;  // row, statistic and histogram buffers reused by every tree
  for (int it = 0; it < p.nTrees; ++it) {
    parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e, int) {
      if (K == 1) {
        double gb[1024], hb[1024];
        for (std::size_t s0 = b; s0 < e; s0 += 1024) {
          const int64_t m = static_cast<int64_t>(std::min(e, s0 + 1024) - s0);
          obj->gradients(y + s0, w + s0, score.data() + s0, m, 0, m, gb, hb);
          double* o = pk.data() + 2 * s0;
          for (int64_t i = 0; i < m; ++i) {
            o[2 * i] = hb[i];
            o[2 * i + 1] = gb[i];
          }
        }
      } else {
        obj->gradients(y, w, score.data(), n, static_cast<int64_t>(b), static_cast<int64_t>(e), g.data(), h.data());
      }
    }, 8192);
    const std::vector<int64_t>* use = &all;
    if (p.sampRate < 1) {
      Rng r(p.seed * 1000003ULL + static_cast<uint64_t>(it));
      rows.clear();
      std::fill(inBag.begin(), inBag.end(), 0);
      for (int64_t i : all) {
        bool in = r.unif() < p.sampRate;
        inBag[i] = in;
        if (in) rows.push_back(i);
      }
      if (rows.empty()) rows.push_back(all[0]), inBag[all[0]] = 1;
      use = &rows;
    }
    for (int k = 0; k < K; ++k) {
      RowStats st;
      if (K == 1) {
        st.packed = pk.data();
      } else {
        st.g = g.data() + static_cast<std::size_t>(k) * n;
        st.h = h.data() + static_cast<std::size_t>(k) * n;
      }
      tree::GrowResult gr = tree::grow_tree(d, st, *use, gp, p.seed * 7919ULL + static_cast<uint64_t>(it) * 131ULL + k, &ws);
      Tree& t = gr.tree;
      for (double& v : t.value) v *= p.learningRate;
      // update scores: bagged rows through their leaf (rows of a leaf are contiguous in ws.rows),
      // the rest by descending the tree
      const double* val = t.value.data();
      const int64_t* wr = ws.rows.data();
      double* sc = score.data();
      parallel_for(ws.leaves.size(), [&](std::size_t lb, std::size_t le, int) {
        for (std::size_t li = lb; li < le; ++li) {
          const tree::LeafRange& lr = ws.leaves[li];
          const double v = val[lr.node];
          for (int64_t i = lr.begin; i < lr.end; ++i) sc[wr[i] * K + k] += v;
        }
      }, 4);
      if (use != &all) {
        parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e, int) {
          for (std::size_t i = b; i < e; ++i)
            if (!inBag[i]) sc[i * K + k] += val[tree::leaf_of_binned(t, d, static_cast<int64_t>(i))];
        }, 8192);
      }
      res.trees.push_back(std::move(t));
      res.treeClass.push_back(K == 1 ? -1 : k);
    }
    // training loss after iteration 1, every 10th and the last (it costs a pass over the data)
    if (it == 0 || (it + 1) % 10 == 0 || it + 1 == p.nTrees)
      res.trainLoss.push_back(boost_loss(p.objective, y, w, score.data(), n, K));
  }
  if (p.returnScores) res.trainScore = std::move(score);
  return res;
}

namespace {
// Bag counts for one tree (deterministic in seed and tree index). `idx` is scratch.
void make_bag(const ForestParams& p, int64_t n, int t, std::vector<double>& cnt, std::vector<int64_t>& idx) {
  cnt.assign(n, 0);
  Rng r(p.seed * 2654435761ULL + static_cast<uint64_t>(t) * 97ULL + 11);
  auto sample_group = [&](const int64_t* ix, int64_t m) {
    int64_t draws = static_cast<int64_t>(std::llround(p.sampRate * m));
    if (draws < 1 && m > 0) draws = 1;
    if (p.replace) {
      for (int64_t j = 0; j < draws; ++j) cnt[ix ? ix[r.below(m)] : static_cast<int64_t>(r.below(m))] += 1;
    } else {
      // selection sampling: exactly `draws` of m without replacement
      int64_t need = std::min(draws, m);
      for (int64_t j = 0; j < m && need > 0; ++j) {
        if (static_cast<double>(r.below(m - j)) < static_cast<double>(need)) {
          cnt[ix ? ix[j] : j] = 1;
          --need;
        }
      }
    }
  };
  if (p.strata && p.numStrata > 0) {
    std::vector<std::vector<int64_t>> groups(p.numStrata);
    for (int64_t i = 0; i < n; ++i) groups[p.strata[i]].push_back(i);
    for (auto& gi : groups) sample_group(gi.data(), static_cast<int64_t>(gi.size()));
  } else {
    (void)idx;
    sample_group(nullptr, n);  // the identity index (row j is j)
  }
}
}  // namespace

void forest_oob(const Data& d, const double* y, const double* w, const ForestParams& p, const std::vector<Tree>& trees,
                Result& res) {
  const int64_t n = d.n;
  const bool cls = p.task == 1;
  const int K = cls ? (p.numClass == 2 ? 1 : p.numClass) : 1;
  res.oobError.clear();
  res.oobPred.assign(static_cast<std::size_t>(n) * K, 0);
  std::vector<double> oobN(n, 0), cnt;
  std::vector<int64_t> idx;
  for (int t = 0; t < static_cast<int>(trees.size()); ++t) {
    make_bag(p, n, t + p.firstTree, cnt, idx);
    const Tree& tr = trees[t];
    parallel_for(static_cast<std::size_t>(n), [&](std::size_t b, std::size_t e, int) {
      for (std::size_t i = b; i < e; ++i) {
        if (cnt[i] > 0) continue;
        int leaf = tree::leaf_of_binned(tr, d, static_cast<int64_t>(i));
        for (int k = 0; k < K; ++k) res.oobPred[i * K + k] += tr.value[static_cast<std::size_t>(leaf) * K + k];
        oobN[i] += 1;
      }
    }, 8192);
    double err = 0, W = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (oobN[i] == 0) continue;
      const double* s = &res.oobPred[i * K];
      double e;
      if (!cls) {
        double r = y[i] - s[0] / oobN[i];
        e = r * r;
      } else if (K == 1) {
        int pred = s[0] / oobN[i] >= p.cutoff ? 1 : 0;
        e = pred != static_cast<int>(y[i]) ? 1 : 0;
      } else {
        int best = 0;
        for (int k = 1; k < K; ++k)
          if (s[k] > s[best]) best = k;
        e = best != static_cast<int>(y[i]) ? 1 : 0;
      }
      err += w[i] * e;
      W += w[i];
    }
    res.oobError.push_back(W > 0 ? err / W : NAN);
  }
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k < K; ++k) res.oobPred[i * K + k] = oobN[i] > 0 ? res.oobPred[i * K + k] / oobN[i] : NAN;
}

Result train_forest(const Data& d0, const double* y, const double* w, const ForestParams& p) {
  const int64_t n = d0.n;
  std::vector<uint8_t> rm = tree::row_major_bins(d0);
  Data d = d0;
  if (!rm.empty()) d.rows8 = rm.data();
  const bool cls = p.task == 1;
  const int K = cls ? (p.numClass == 2 ? 1 : p.numClass) : 1;
  Result res;
  res.trees.resize(p.nTrees);
  res.treeClass.assign(p.nTrees, -1);
  GrowParams gp = p.grow;
  gp.K = K;
  gp.gradient = false;
  gp.lambda = 0;
  gp.serial = true;
  // trees in parallel (each tree's RNG depends only on its index: thread-count independent)
  parallel_for(static_cast<std::size_t>(p.nTrees), [&](std::size_t tb, std::size_t te, int) {
    // per thread: bag, statistics and grower buffers reused from tree to tree
    std::vector<double> cnt, g, h, pk;
    std::vector<int64_t> idx, rows;
    tree::GrowWorkspace ws;
    if (K == 1) {
      pk.assign(static_cast<std::size_t>(n) * 3, 0);  // (h, g, cnt) per row
    } else {
      g.assign(static_cast<std::size_t>(n) * K, 0);
      h.assign(n, 0);
    }
    for (std::size_t t = tb; t < te; ++t) {
      const std::size_t ta = t + static_cast<std::size_t>(p.firstTree);  // the tree's index in the whole forest
      make_bag(p, n, static_cast<int>(ta), cnt, idx);
      rows.clear();
      for (int64_t i = 0; i < n; ++i) {
        if (cnt[i] <= 0 || w[i] <= 0) continue;
        rows.push_back(i);
        if (cls && K > 1)
          for (int k = 0; k < K; ++k) g[i * K + k] = 0;
        double cw = cnt[i] * w[i];
        if (K == 1) {
          double* o = pk.data() + 3 * i;
          o[0] = cw;
          o[1] = !cls ? cw * y[i] : cw * (y[i] == 1 ? 1.0 : 0.0);
          o[2] = cnt[i];
          continue;
        }
        h[i] = cw;
        if (!cls)
          g[i] = cw * y[i];
        else
          g[i * K + static_cast<int>(y[i])] = cw;
      }
      RowStats st;
      if (K == 1) {
        st.packed = pk.data();
        st.packedCnt = true;
      } else {
        st.g = g.data();
        st.h = h.data();
        st.cnt = cnt.data();
      }
      tree::GrowResult gr = tree::grow_tree(d, st, rows, gp, p.seed * 31ULL + ta * 7ULL + 3, &ws);
      res.trees[t] = std::move(gr.tree);
    }
  }, 1);
  if (p.computeOob) forest_oob(d, y, w, p, res.trees, res);
  return res;
}

}  // namespace ensemble
}  // namespace rx
