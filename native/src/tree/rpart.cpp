#include "tree/rpart.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "common/error.h"
#include "tree/grower.h"

namespace rx {
namespace tree {

namespace {

struct Ctx {
  const Data& d;
  const double* y;
  const double* w;
  const RpartParams& p;
  int K;
  std::vector<double> priorAdj;  // prior_j / freq_j (the per-class risk weight)
  std::vector<double> aprior;    // altered priors for the split criterion
  double alpha = 0;
};

// Per node bookkeeping during partition (indexed by tree node).
struct NodeInfo {
  double risk = 0, complexity = 0, wt = 0, yval = 0, improve = 0;
  int nobs = 0;
  bool swap = false;
  std::vector<double> classWt;
};

class Builder {
 public:
  Builder(Ctx& c, const RowStats& st, const GrowParams& gp, std::vector<NodeInfo>& info, Tree& t)
      : c_(c), gp_(gp), gr_(c.d, st, gp, 1), info_(info), t_(t) {}

  Grower& grower() { return gr_; }

  void eval(const Leaf& l, NodeInfo& me) {
    const auto& rows = gr_.rows();
    me.nobs = static_cast<int>(l.end - l.begin);
    me.wt = 0;
    if (c_.p.method == 0) {
      double sw = 0, sy = 0;
      for (int64_t i = l.begin; i < l.end; ++i) {
        int64_t r = rows[i];
        sw += c_.w[r];
        sy += c_.w[r] * c_.y[r];
      }
      double mean = sw > 0 ? sy / sw : 0, ss = 0;
      for (int64_t i = l.begin; i < l.end; ++i) {
        int64_t r = rows[i];
        double e = c_.y[r] - mean;
        ss += c_.w[r] * e * e;
      }
      me.wt = sw;
      me.yval = mean;
      me.risk = ss;
      return;
    }
    const int K = c_.K;
    me.classWt.assign(K, 0);
    for (int64_t i = l.begin; i < l.end; ++i) {
      int64_t r = rows[i];
      me.classWt[static_cast<int>(c_.y[r])] += c_.w[r];
      me.wt += c_.w[r];
    }
    int best = 0;
    double dev = 0;
    for (int i = 0; i < K; ++i) {
      double s = 0;
      for (int j = 0; j < K; ++j) s += me.classWt[j] * c_.p.loss[j * K + i] * c_.priorAdj[j];
      if (i == 0 || s < dev) {
        best = i;
        dev = s;
      }
    }
    me.yval = best;
    me.risk = dev;
  }

  // rpart's "mean" used to orient a split: class index mean (class) or y mean (anova)
  double orient_mean(const Leaf& l) const {
    if (c_.p.method == 0) return l.h > 0 ? l.g[0] / l.h : 0;
    double tot = 0, m = 0;
    for (int k = 0; k < c_.K; ++k) tot += l.g[k];
    for (int k = 0; k < c_.K; ++k) m += k * (tot > 0 ? l.g[k] / tot : 0);
    return m;
  }

  // returns the number of splits kept below this node; sumrisk = risk of its leaves
  int partition(Leaf& l, double& sumrisk, bool isRoot) {
    NodeInfo& me0 = info_[l.node];
    eval(l, me0);
    double tempcp = isRoot ? me0.risk : std::min(me0.risk, me0.complexity);
    auto make_leaf = [&]() {
      NodeInfo& me = info_[l.node];
      me.complexity = c_.alpha;
      sumrisk = me.risk;
      t_.feature[l.node] = -1;
      l.hist.reset();
      return 0;
    };
    if (l.cnt < c_.p.minSplit || tempcp <= c_.alpha) return make_leaf();
    if (!gr_.prepare(l)) return make_leaf();
    double gain = l.best.gain;
    auto kids = gr_.split(t_, l, false);
    l.hist.reset();
    info_.resize(t_.feature.size());
    Leaf& lo = kids.first;
    Leaf& hi = kids.second;
    bool swap = !(orient_mean(lo) < orient_mean(hi));
    info_[l.node].swap = swap;
    info_[l.node].improve = c_.p.method == 0 ? gain / std::max(info_[l.node].risk, 1e-300) : gain;
    Leaf& L = swap ? hi : lo;
    Leaf& R = swap ? lo : hi;
    double leftRisk = 0, rightRisk = 0;
    info_[L.node].complexity = tempcp - c_.alpha;
    int leftSplit = partition(L, leftRisk, false);
    double myRisk = info_[l.node].risk, myCp = info_[l.node].complexity;
    if (isRoot) myCp = myRisk;
    tempcp = (myRisk - leftRisk) / (leftSplit + 1);
    double tempcp2 = myRisk - info_[L.node].risk;
    if (tempcp < tempcp2) tempcp = tempcp2;
    if (tempcp > myCp) tempcp = myCp;
    info_[R.node].complexity = tempcp - c_.alpha;
    int rightSplit = partition(R, rightRisk, false);
    double lc = info_[L.node].complexity, rc = info_[R.node].complexity;
    tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
    if (rc > lc) {
      if (tempcp > lc) {
        leftRisk = info_[L.node].risk;
        leftSplit = 0;
        tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
        if (tempcp > rc) {
          rightRisk = info_[R.node].risk;
          rightSplit = 0;
        }
      }
    } else if (tempcp > rc) {
      rightSplit = 0;
      rightRisk = info_[R.node].risk;
      tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
      if (tempcp > lc) {
        leftRisk = info_[L.node].risk;
        leftSplit = 0;
      }
    }
    tempcp = (myRisk - (leftRisk + rightRisk)) / (leftSplit + rightSplit + 1);
    if (tempcp <= c_.alpha) {
      t_.feature[l.node] = -1;  // collapse: the subtree becomes unreachable
      sumrisk = myRisk;
      info_[l.node].complexity = c_.alpha;
      return 0;
    }
    info_[l.node].complexity = tempcp;
    sumrisk = leftRisk + rightRisk;
    return leftSplit + rightSplit + 1;
  }

 private:
  Ctx& c_;
  const GrowParams& gp_;
  Grower gr_;
  std::vector<NodeInfo>& info_;
  Tree& t_;
};

void fix_cp(const Tree& t, std::vector<NodeInfo>& info, int nd, double parent) {
  if (info[nd].complexity > parent) info[nd].complexity = parent;
  if (t.feature[nd] >= 0) {
    fix_cp(t, info, t.left[nd], info[nd].complexity);
    fix_cp(t, info, t.right[nd], info[nd].complexity);
  }
}

struct Grown {
  Tree tree;
  std::vector<NodeInfo> info;
  double rootRisk = 0;
};

Grown grow_one(Ctx& c, const std::vector<int64_t>& rows, const GrowParams& gp, const std::vector<double>& g,
               const std::vector<double>& h) {
  Grown out;
  RowStats st;
  st.g = g.data();
  st.h = h.data();
  out.info.resize(1);
  Builder b(c, st, gp, out.info, out.tree);
  Leaf root = b.grower().start(rows, out.tree);
  out.info.resize(out.tree.feature.size());
  double sumrisk = 0;
  b.partition(root, sumrisk, true);
  out.info.resize(out.tree.feature.size());
  out.rootRisk = out.info[0].risk;
  fix_cp(out.tree, out.info, 0, out.info[0].complexity);
  return out;
}

int leaf_at_cp(const Tree& t, const std::vector<NodeInfo>& info, const Data& d, int64_t row, double cp) {
  int nd = 0;
  while (t.feature[nd] >= 0 && cp < info[nd].complexity) {
    int f = t.feature[nd];
    int b = d.bin(f, row);
    bool goLeft;
    if (b == d.nbins[f] - 1)
      goLeft = t.defaultLeft[nd];
    else if (t.catOffset[nd] >= 0)
      goLeft = (t.catBits[t.catOffset[nd] + (b >> 5)] >> (b & 31)) & 1u;
    else
      goLeft = 0.5 * (d.lo[d.offset[f] + b] + d.hi[d.offset[f] + b]) <= t.threshold[nd];
    nd = goLeft ? t.left[nd] : t.right[nd];
  }
  return nd;
}

}  // namespace

RpartResult train_rpart(const Data& d, const double* y, const double* w, const RpartParams& p) {
  const int64_t n = d.n;
  Ctx c{d, y, w, p, p.method == 0 ? 1 : p.numClass, {}, {}, 0};
  const int K = c.K;
  // rows with positive weight take part
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < n; ++i)
    if (w[i] > 0) rows.push_back(i);
  if (rows.empty()) throw Error("RX_ARG", "rxDTree: no rows with positive weight");
  std::vector<double> g(static_cast<std::size_t>(n) * K, 0), h(n, 0);
  if (p.method == 1) {
    std::vector<double> freq(K, 0);
    double tot = 0;
    for (int64_t r : rows) {
      freq[static_cast<int>(y[r])] += w[r];
      tot += w[r];
    }
    for (int k = 0; k < K; ++k) freq[k] /= tot;
    c.priorAdj.assign(K, 0);
    c.aprior.assign(K, 0);
    double temp = 0;
    for (int i = 0; i < K; ++i)
      for (int j = 0; j < K; ++j) {
        temp += p.loss[i * K + j] * p.prior[i];
        c.aprior[i] += p.loss[i * K + j] * p.prior[i];
      }
    for (int i = 0; i < K; ++i) {
      c.priorAdj[i] = freq[i] > 0 ? p.prior[i] / freq[i] : 0;
      c.aprior[i] = freq[i] > 0 ? c.aprior[i] / (temp * freq[i]) : 0;
    }
    for (int64_t r : rows) {
      int k = static_cast<int>(y[r]);
      double a = c.aprior[k] * w[r];
      g[r * K + k] = a;
      h[r] = a;
    }
  } else {
    for (int64_t r : rows) {
      g[r] = w[r] * y[r];
      h[r] = w[r];
    }
  }
  GrowParams gp;
  gp.K = K;
  gp.maxDepth = p.maxDepth;
  gp.minLeaf = p.minBucket;
  gp.minSplit = p.minSplit;
  gp.minGain = 0;
  gp.lambda = 0;
  gp.criterion = (p.method == 1 && p.split == 1) ? kEntropy : kSumSq;
  gp.gradient = false;
  gp.localMidpoint = true;
  gp.missingInGain = false;
  gp.maxUnorderedLevels = p.maxUnorderedLevels;
  gp.featureCost = p.cost;

  // root risk -> alpha
  Grown full;
  {
    // evaluate the root risk first (alpha = cp * root risk)
    std::vector<NodeInfo> tmpInfo(1);
    Tree tmpTree;
    RowStats st;
    st.g = g.data();
    st.h = h.data();
    Builder b(c, st, gp, tmpInfo, tmpTree);
    Leaf root = b.grower().start(rows, tmpTree);
    b.eval(root, tmpInfo[0]);
    c.alpha = p.cp * tmpInfo[0].risk;
  }
  full = grow_one(c, rows, gp, g, h);
  RpartResult res;
  res.rootRisk = full.rootRisk;
  // cp list: unique complexities (clamped at alpha), descending
  std::vector<double> cps{full.info[0].complexity};
  std::function<void(int, double)> collect = [&](int nd, double parent) {
    double me = std::max(full.info[nd].complexity, c.alpha);
    if (full.tree.feature[nd] >= 0) {
      collect(full.tree.left[nd], me);
      collect(full.tree.right[nd], me);
    }
    if (me < parent && std::find(cps.begin(), cps.end(), me) == cps.end()) cps.push_back(me);
  };
  if (full.tree.feature[0] >= 0) {
    collect(full.tree.left[0], full.info[0].complexity);
    collect(full.tree.right[0], full.info[0].complexity);
  }
  std::sort(cps.begin(), cps.end(), std::greater<double>());
  const std::size_t m = cps.size();
  std::vector<double> risk(m, 0), xrisk(m, 0), xstd(m, 0);
  std::vector<int> nsplit(m, 0);
  for (std::size_t j = 0; j < m; ++j) {
    double cpv = cps[j];
    std::function<void(int)> walk = [&](int nd) {
      if (full.tree.feature[nd] >= 0 && full.info[nd].complexity > cpv) {
        nsplit[j] += 1;
        walk(full.tree.left[nd]);
        walk(full.tree.right[nd]);
      } else {
        risk[j] += full.info[nd].risk;
      }
    };
    walk(0);
  }
  // cross-validation
  if (p.xgroups && p.nxval > 1 && m > 0) {
    std::vector<double> cpx(m);
    cpx[0] = 10 * cps[0];
    for (std::size_t j = 1; j < m; ++j) cpx[j] = std::sqrt(cps[j - 1] * cps[j]);
    double totalWt = 0;
    for (int64_t r : rows) totalWt += w[r];
    const double alphaSave = c.alpha;
    for (int gi = 1; gi <= p.nxval; ++gi) {
      std::vector<int64_t> train, test;
      double trainWt = 0;
      for (int64_t r : rows) {
        if (p.xgroups[r] == gi)
          test.push_back(r);
        else {
          train.push_back(r);
          trainWt += w[r];
        }
      }
      if (train.empty() || test.empty()) continue;
      double scale = trainWt / totalWt;
      c.alpha = alphaSave * scale;
      Grown xt = grow_one(c, train, gp, g, h);
      for (int64_t r : test) {
        for (std::size_t j = 0; j < m; ++j) {
          int nd = leaf_at_cp(xt.tree, xt.info, d, r, cpx[j] * scale);
          double err;
          if (p.method == 0) {
            double e = y[r] - xt.info[nd].yval;
            err = e * e;
          } else {
            int yt = static_cast<int>(y[r]), yp = static_cast<int>(xt.info[nd].yval);
            err = c.priorAdj[yt] * p.loss[yt * K + yp];
          }
          xrisk[j] += err * w[r];
          xstd[j] += err * err * w[r];
        }
      }
    }
    c.alpha = alphaSave;
    for (std::size_t j = 0; j < m; ++j) xstd[j] = std::sqrt(std::max(0.0, xstd[j] - xrisk[j] * xrisk[j] / totalWt));
  } else {
    for (std::size_t j = 0; j < m; ++j) xrisk[j] = xstd[j] = NAN;
  }
  for (std::size_t j = 0; j < m; ++j) {
    res.cpTable.push_back(cps[j]);
    res.cpTable.push_back(nsplit[j]);
    res.cpTable.push_back(risk[j]);
    res.cpTable.push_back(xrisk[j]);
    res.cpTable.push_back(xstd[j]);
  }
  // compact the reachable tree (preorder, rpart's left child first)
  const Tree& T = full.tree;
  Tree& O = res.tree;
  std::function<int(int)> copy = [&](int nd) -> int {
    int id = O.add_node(K);
    const NodeInfo& in = full.info[nd];
    O.threshold[id] = T.threshold[nd];
    O.splitBin[id] = T.splitBin[nd];
    O.defaultLeft[id] = T.defaultLeft[nd];
    O.gain[id] = T.gain[nd];
    O.cover[id] = T.cover[nd];
    O.count[id] = T.count[nd];
    if (p.method == 0) {
      O.value[id] = in.yval;
    } else {
      double tot = 0;
      for (int k = 0; k < K; ++k) tot += in.classWt[k];
      for (int k = 0; k < K; ++k) O.value[static_cast<std::size_t>(id) * K + k] = tot > 0 ? in.classWt[k] / tot : 0;
      for (int k = 0; k < K; ++k) res.classWt.push_back(in.classWt[k]);
    }
    res.risk.push_back(in.risk);
    res.complexity.push_back(in.complexity);
    res.wt.push_back(in.wt);
    res.yval.push_back(in.yval);
    res.nobs.push_back(in.nobs);
    res.improve.push_back(T.feature[nd] >= 0 ? in.improve : 0);
    res.swap.push_back(T.feature[nd] >= 0 && in.swap ? 1 : 0);
    if (T.feature[nd] >= 0) {
      O.feature[id] = T.feature[nd];
      if (T.catOffset[nd] >= 0) {
        O.catOffset[id] = static_cast<int>(O.catBits.size());
        O.catWords[id] = T.catWords[nd];
        for (int k = 0; k < T.catWords[nd]; ++k) O.catBits.push_back(T.catBits[T.catOffset[nd] + k]);
      }
      int a = in.swap ? T.right[nd] : T.left[nd];
      int b = in.swap ? T.left[nd] : T.right[nd];
      int ca = copy(a);
      int cb = copy(b);
      O.left[id] = in.swap ? cb : ca;
      O.right[id] = in.swap ? ca : cb;
    }
    return id;
  };
  copy(0);
  return res;
}

}  // namespace tree
}  // namespace rx
