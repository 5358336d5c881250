// N-API glue for the tree engine: sketches, binning, training (async), prediction.
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "common.h"
#include "common/threads.h"
#include "ensemble/ensemble.h"
#include "registry.h"
#include "tree/engine.h"
#include "tree/rpart.h"

namespace {

using rx::tree::Tree;

[[noreturn]] void Bad(Napi::Env env, const std::string& what, const std::string& expected, const Napi::Value& v) {
  rxb::ThrowRx(env, "RX_ARG", "Expected " + expected + " for " + what + " but received " + rxb::TypeName(v));
}


double NumProp(Napi::Env env, const Napi::Object& o, const char* key, double dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsNumber()) Bad(env, key, "number", v);
  return v.As<Napi::Number>().DoubleValue();
}
bool BoolProp(Napi::Env env, const Napi::Object& o, const char* key, bool dflt) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return dflt;
  if (!v.IsBoolean()) Bad(env, key, "boolean", v);
  return v.As<Napi::Boolean>().Value();
}
template <typename T, napi_typedarray_type TT>
std::pair<T*, size_t> Arr(Napi::Env env, const Napi::Value& v, const char* what, bool optional = false) {
  if (optional && (v.IsUndefined() || v.IsNull())) return {nullptr, 0};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TT) {
    const char* name = TT == napi_float64_array ? "Float64Array" : TT == napi_int32_array ? "Int32Array" : "Uint8Array";
    Bad(env, what, name, v);
  }
  auto ta = v.As<Napi::TypedArray>();
  auto buf = ta.ArrayBuffer();
  return {reinterpret_cast<T*>(static_cast<uint8_t*>(buf.Data()) + ta.ByteOffset()), ta.ElementLength()};
}
auto F64(Napi::Env e, const Napi::Value& v, const char* w, bool o = false) { return Arr<double, napi_float64_array>(e, v, w, o); }
auto I32(Napi::Env e, const Napi::Value& v, const char* w, bool o = false) { return Arr<int32_t, napi_int32_array>(e, v, w, o); }
auto U8(Napi::Env e, const Napi::Value& v, const char* w, bool o = false) { return Arr<uint8_t, napi_uint8_array>(e, v, w, o); }

Napi::Float64Array ToF64(Napi::Env env, const std::vector<double>& v) {
  auto a = Napi::Float64Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(double));
  return a;
}
Napi::Int32Array ToI32(Napi::Env env, const std::vector<int>& v) {
  auto a = Napi::Int32Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(int));
  return a;
}
Napi::Uint8Array ToU8(Napi::Env env, const std::vector<uint8_t>& v) {
  auto a = Napi::Uint8Array::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size());
  return a;
}

// ---- sketches and binning ----
Napi::Value SketchAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto x = F64(env, info[0], "values");
    auto valid = U8(env, info[1], "valid", true);
    auto sv = F64(env, info[2], "sketch values");
    auto sc = F64(env, info[3], "sketch counts");
    rx::tree::Sketch s;
    s.values.assign(sv.first, sv.first + sv.second);
    s.counts.assign(sc.first, sc.first + sc.second);
    s.missing = rxb::ArgNum(info, 4, "missing");
    s.full = rxb::ArgBool(info, 5, "full", false);
    int64_t k = rxb::ArgInt(info, 6, "sketch size");
    rx::tree::sketch_add(s, x.first, valid.first, x.second, static_cast<std::size_t>(k));
    Napi::Object o = Napi::Object::New(env);
    o.Set("values", ToF64(env, s.values));
    o.Set("counts", ToF64(env, s.counts));
    o.Set("missing", s.missing);
    o.Set("full", s.full);
    return o;
  });
}

// Sketch updates of several columns at once, one column per thread (values: NaN = missing).
Napi::Value SketchAddMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    if (!info[0].IsArray()) Bad(env, "columns", "an array of Float64Array", info[0]);
    if (!info[1].IsArray()) Bad(env, "sketch states", "an array of objects", info[1]);
    Napi::Array xs = info[0].As<Napi::Array>();
    Napi::Array st = info[1].As<Napi::Array>();
    int64_t k = rxb::ArgInt(info, 2, "sketch size");
    const uint32_t m = xs.Length();
    if (st.Length() != m) rxb::ThrowRx(env, "RX_ARG", "one sketch state per column");
    std::vector<std::pair<const double*, std::size_t>> cols(m);
    std::vector<rx::tree::Sketch> sk(m);
    for (uint32_t j = 0; j < m; ++j) {
      auto x = F64(env, xs.Get(j), "values");
      cols[j] = {x.first, x.second};
      Napi::Value sv = st.Get(j);
      if (!sv.IsObject()) Bad(env, "sketch state", "object", sv);
      Napi::Object o = sv.As<Napi::Object>();
      auto v = F64(env, o.Get("values"), "sketch values");
      auto c = F64(env, o.Get("counts"), "sketch counts");
      sk[j].values.assign(v.first, v.first + v.second);
      sk[j].counts.assign(c.first, c.first + c.second);
      sk[j].missing = NumProp(env, o, "missing", 0);
      sk[j].full = BoolProp(env, o, "full", false);
    }
    rx::parallel_for(
        m,
        [&](std::size_t b, std::size_t e, int) {
          for (std::size_t j = b; j < e; ++j)
            rx::tree::sketch_add(sk[j], cols[j].first, nullptr, cols[j].second, static_cast<std::size_t>(k));
        },
        1);
    Napi::Array out = Napi::Array::New(env, m);
    for (uint32_t j = 0; j < m; ++j) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("values", ToF64(env, sk[j].values));
      o.Set("counts", ToF64(env, sk[j].counts));
      o.Set("missing", sk[j].missing);
      o.Set("full", sk[j].full);
      out.Set(j, o);
    }
    return out;
  });
}

Napi::Value SketchBins(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto sv = F64(env, info[0], "sketch values");
    auto sc = F64(env, info[1], "sketch counts");
    int64_t maxBins = rxb::ArgInt(info, 2, "maxBins");
    rx::tree::Sketch s;
    s.values.assign(sv.first, sv.first + sv.second);
    s.counts.assign(sc.first, sc.first + sc.second);
    std::vector<double> lo, hi;
    rx::tree::sketch_bins(s, static_cast<int>(maxBins), lo, hi);
    Napi::Object o = Napi::Object::New(env);
    o.Set("lo", ToF64(env, lo));
    o.Set("hi", ToF64(env, hi));
    return o;
  });
}

Napi::Value BinNumeric(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto x = F64(env, info[0], "values");
    auto valid = U8(env, info[1], "valid", true);
    auto lo = F64(env, info[2], "bin lo");
    auto hi = F64(env, info[3], "bin hi");
    if (!info[4].IsTypedArray()) Bad(env, "binned output", "Uint8Array or Uint16Array", info[4]);
    auto out = info[4].As<Napi::TypedArray>();
    int64_t off = rxb::ArgInt(info, 5, "offset");
    size_t len = out.ElementLength();
    if (off < 0 || static_cast<size_t>(off) + x.second > len) rxb::ThrowRx(env, "RX_ARG", "binned output too short");
    uint8_t* base = static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset();
    int nv = static_cast<int>(lo.second);
    if (out.TypedArrayType() == napi_uint8_array)
      rx::tree::bin_numeric(x.first, valid.first, x.second, lo.first, hi.first, nv, base + off, nullptr);
    else if (out.TypedArrayType() == napi_uint16_array)
      rx::tree::bin_numeric(x.first, valid.first, x.second, lo.first, hi.first, nv, nullptr,
                            reinterpret_cast<uint16_t*>(base) + off);
    else
      Bad(env, "binned output", "Uint8Array or Uint16Array", info[4]);
    return env.Undefined();
  });
}

// ---- data and params ----
struct DataHold {
  rx::tree::Data d;
  std::vector<double> lo, hi;
};

std::shared_ptr<DataHold> ReadData(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) Bad(env, "binned data", "object", v);
  Napi::Object o = v.As<Napi::Object>();
  auto h = std::make_shared<DataHold>();
  rx::tree::Data& d = h->d;
  d.n = static_cast<int64_t>(NumProp(env, o, "n", -1));
  d.p = static_cast<int>(NumProp(env, o, "p", -1));
  Napi::Value b = o.Get("binned");
  if (!b.IsTypedArray()) Bad(env, "binned", "Uint8Array or Uint16Array", b);
  auto ta = b.As<Napi::TypedArray>();
  uint8_t* base = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (ta.TypedArrayType() == napi_uint8_array)
    d.b8 = base;
  else if (ta.TypedArrayType() == napi_uint16_array)
    d.b16 = reinterpret_cast<uint16_t*>(base);
  else
    Bad(env, "binned", "Uint8Array or Uint16Array", b);
  if (d.n < 0 || d.p < 0 || static_cast<int64_t>(ta.ElementLength()) < d.n * d.p)
    rxb::ThrowRx(env, "RX_ARG", "binned data: n*p exceeds the binned array");
  auto nb = I32(env, o.Get("nbins"), "nbins");
  auto cat = U8(env, o.Get("categorical"), "categorical");
  if (static_cast<int>(nb.second) != d.p || static_cast<int>(cat.second) != d.p)
    rxb::ThrowRx(env, "RX_ARG", "binned data: nbins/categorical must have p entries");
  d.nbins.assign(nb.first, nb.first + nb.second);
  d.categorical.assign(cat.first, cat.first + cat.second);
  d.finish();
  auto lo = F64(env, o.Get("lo"), "lo");
  auto hi = F64(env, o.Get("hi"), "hi");
  if (static_cast<int>(lo.second) < d.total_bins() || static_cast<int>(hi.second) < d.total_bins())
    rxb::ThrowRx(env, "RX_ARG", "binned data: lo/hi must cover every bin");
  h->lo.assign(lo.first, lo.first + lo.second);
  h->hi.assign(hi.first, hi.first + hi.second);
  d.lo = h->lo.data();
  d.hi = h->hi.data();
  return h;
}

rx::tree::GrowParams ReadGrow(Napi::Env env, const Napi::Object& o) {
  rx::tree::GrowParams g;
  g.maxDepth = static_cast<int>(NumProp(env, o, "maxDepth", -1));
  g.maxLeaves = static_cast<int>(NumProp(env, o, "maxLeaves", 0));
  g.lambda = NumProp(env, o, "lambda", 0);
  g.minHess = NumProp(env, o, "minHess", 0);
  g.minLeaf = NumProp(env, o, "minLeaf", 1);
  g.minSplit = NumProp(env, o, "minSplit", 2);
  g.minGain = NumProp(env, o, "minGain", 0);
  g.mTry = static_cast<int>(NumProp(env, o, "mTry", 0));
  g.featureFraction = NumProp(env, o, "featureFraction", 1);
  g.maxUnorderedLevels = static_cast<int>(NumProp(env, o, "maxUnorderedLevels", 64));
  g.criterion = static_cast<int>(NumProp(env, o, "criterion", 0));
  return g;
}

struct Flat {
  int K = 1;
  std::vector<int> nodeOffset{0}, feature, splitBin, left, right, catOffset, catWords, treeClass;
  std::vector<double> threshold, value, gain, cover, count, treeWeight;
  std::vector<uint8_t> defaultLeft;
  std::vector<int> catBits;
  void add(const Tree& t, int cls, double weight) {
    K = t.K;
    int base = static_cast<int>(catBits.size());
    for (std::size_t i = 0; i < t.feature.size(); ++i) {
      feature.push_back(t.feature[i]);
      splitBin.push_back(t.splitBin[i]);
      left.push_back(t.left[i]);
      right.push_back(t.right[i]);
      catOffset.push_back(t.catOffset[i] >= 0 ? t.catOffset[i] + base : -1);
      catWords.push_back(t.catWords[i]);
      threshold.push_back(t.threshold[i]);
      gain.push_back(t.gain[i]);
      cover.push_back(t.cover[i]);
      count.push_back(t.count[i]);
      defaultLeft.push_back(t.defaultLeft[i]);
    }
    for (uint32_t b : t.catBits) catBits.push_back(static_cast<int>(b));
    value.insert(value.end(), t.value.begin(), t.value.end());
    nodeOffset.push_back(static_cast<int>(feature.size()));
    treeClass.push_back(cls);
    treeWeight.push_back(weight);
  }
  Napi::Object ToJs(Napi::Env env) const {
    Napi::Object o = Napi::Object::New(env);
    o.Set("K", K);
    o.Set("nodeOffset", ToI32(env, nodeOffset));
    o.Set("feature", ToI32(env, feature));
    o.Set("threshold", ToF64(env, threshold));
    o.Set("splitBin", ToI32(env, splitBin));
    o.Set("left", ToI32(env, left));
    o.Set("right", ToI32(env, right));
    o.Set("defaultLeft", ToU8(env, defaultLeft));
    o.Set("catOffset", ToI32(env, catOffset));
    o.Set("catWords", ToI32(env, catWords));
    o.Set("catBits", ToI32(env, catBits));
    o.Set("value", ToF64(env, value));
    o.Set("gain", ToF64(env, gain));
    o.Set("cover", ToF64(env, cover));
    o.Set("count", ToF64(env, count));
    o.Set("treeClass", ToI32(env, treeClass));
    o.Set("treeWeight", ToF64(env, treeWeight));
    return o;
  }
};

// Rebuilds Trees from a flat JS model.
std::vector<Tree> ReadTrees(Napi::Env env, const Napi::Object& m, std::vector<int>& cls, std::vector<double>& wts) {
  int K = static_cast<int>(NumProp(env, m, "K", 1));
  auto off = I32(env, m.Get("nodeOffset"), "nodeOffset");
  auto feat = I32(env, m.Get("feature"), "feature");
  auto thr = F64(env, m.Get("threshold"), "threshold");
  auto left = I32(env, m.Get("left"), "left");
  auto right = I32(env, m.Get("right"), "right");
  auto dl = U8(env, m.Get("defaultLeft"), "defaultLeft");
  auto co = I32(env, m.Get("catOffset"), "catOffset");
  auto cw = I32(env, m.Get("catWords"), "catWords");
  auto cb = I32(env, m.Get("catBits"), "catBits");
  auto val = F64(env, m.Get("value"), "value");
  auto tc = I32(env, m.Get("treeClass"), "treeClass");
  auto tw = F64(env, m.Get("treeWeight"), "treeWeight");
  auto sb = I32(env, m.Get("splitBin"), "splitBin", true);  // bin-space splits (descending binned rows)
  std::size_t T = off.second ? off.second - 1 : 0;
  std::size_t N = feat.second;
  if (thr.second != N || left.second != N || right.second != N || dl.second != N || co.second != N ||
      cw.second != N || val.second != N * K || tc.second != T || tw.second != T || (T > 0 && static_cast<std::size_t>(off.first[T]) != N))
    rxb::ThrowRx(env, "RX_MODEL", "tree model arrays have inconsistent lengths");
  std::vector<Tree> trees(T);
  for (std::size_t t = 0; t < T; ++t) {
    Tree& tr = trees[t];
    tr.K = K;
    int a = off.first[t], b = off.first[t + 1];
    if (a < 0 || b < a || b > static_cast<int>(N)) rxb::ThrowRx(env, "RX_MODEL", "tree model: bad node offsets");
    int nn = b - a;
    for (int i = a; i < b; ++i) {
      int l = left.first[i], r = right.first[i];
      if (feat.first[i] >= 0 && (l <= 0 || r <= 0 || l >= nn || r >= nn))
        rxb::ThrowRx(env, "RX_MODEL", "tree model: child index out of range");
      tr.feature.push_back(feat.first[i]);
      tr.threshold.push_back(thr.first[i]);
      tr.splitBin.push_back(sb.first && sb.second == N ? sb.first[i] : -1);
      tr.left.push_back(l);
      tr.right.push_back(r);
      tr.defaultLeft.push_back(dl.first[i]);
      tr.catWords.push_back(cw.first[i]);
      if (co.first[i] >= 0) {
        if (static_cast<std::size_t>(co.first[i] + cw.first[i]) > cb.second)
          rxb::ThrowRx(env, "RX_MODEL", "tree model: categorical bitset out of range");
        tr.catOffset.push_back(static_cast<int>(tr.catBits.size()));
        for (int k = 0; k < cw.first[i]; ++k) tr.catBits.push_back(static_cast<uint32_t>(cb.first[co.first[i] + k]));
      } else {
        tr.catOffset.push_back(-1);
      }
      for (int k = 0; k < K; ++k) tr.value.push_back(val.first[static_cast<std::size_t>(i) * K + k]);
    }
    cls.push_back(tc.first[t]);
    wts.push_back(tw.first[t]);
  }
  return trees;
}

// ---- training ----
Napi::Value TrainBoost(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto data = ReadData(env, info[0]);
    auto y = F64(env, info[1], "y");
    auto w = F64(env, info[2], "weights");
    if (!info[3].IsObject()) Bad(env, "params", "object", info[3]);
    Napi::Object o = info[3].As<Napi::Object>();
    if (static_cast<int64_t>(y.second) != data->d.n || static_cast<int64_t>(w.second) != data->d.n)
      rxb::ThrowRx(env, "RX_ARG", "y and weights must have n entries");
    auto p = std::make_shared<rx::ensemble::BoostParams>();
    p->objective = static_cast<int>(NumProp(env, o, "objective", 0));
    p->numClass = static_cast<int>(NumProp(env, o, "numClass", 1));
    p->nTrees = static_cast<int>(NumProp(env, o, "nTrees", 100));
    p->learningRate = NumProp(env, o, "learningRate", 0.1);
    p->sampRate = NumProp(env, o, "sampRate", 1);
    p->seed = static_cast<uint64_t>(NumProp(env, o, "seed", 1));
    auto init = F64(env, o.Get("init"), "init", true);
    if (init.first && init.second > 0) {
      p->haveInit = true;
      p->init.assign(init.first, init.first + init.second);
    }
    p->returnScores = BoolProp(env, o, "returnScores", false);
    p->grow = ReadGrow(env, o);
    if (p->objective < 0 || p->objective > 3) rxb::ThrowRx(env, "RX_ARG", "unknown objective");
    auto res = std::make_shared<rx::ensemble::Result>();
    const double* yp = y.first;
    const double* wp = w.first;
    return rxb::RunAsync(
        env, [data, p, res, yp, wp]() { *res = rx::ensemble::train_boost(data->d, yp, wp, *p); },
        [res](Napi::Env e) -> Napi::Value {
          Flat f;
          for (std::size_t i = 0; i < res->trees.size(); ++i) f.add(res->trees[i], res->treeClass[i], 1.0);
          Napi::Object o = f.ToJs(e);
          o.Set("init", ToF64(e, res->init));
          o.Set("trainLoss", ToF64(e, res->trainLoss));
          if (!res->trainScore.empty()) o.Set("trainScore", ToF64(e, res->trainScore));
          return o;
        },
        {info[0], info[1], info[2]});
  });
}

// The forest parameters that decide each tree's bag (task, classes, sampling, seed, first tree
// index, strata): shared by training and by out-of-bag scoring, which recomputes the bags.
std::shared_ptr<rx::ensemble::ForestParams> ReadForestParams(Napi::Env env, Napi::Object o, std::pair<int32_t*, size_t> strata, int64_t n) {
  auto p = std::make_shared<rx::ensemble::ForestParams>();
  p->task = static_cast<int>(NumProp(env, o, "task", 1));
  p->numClass = static_cast<int>(NumProp(env, o, "numClass", 2));
  p->sampRate = NumProp(env, o, "sampRate", 0.632);
  p->replace = BoolProp(env, o, "replace", true);
  p->seed = static_cast<uint64_t>(NumProp(env, o, "seed", 1));
  p->cutoff = NumProp(env, o, "cutoff", 0.5);
  p->firstTree = static_cast<int>(NumProp(env, o, "firstTree", 0));
  if (p->firstTree < 0) rxb::ThrowRx(env, "RX_ARG", "firstTree must be >= 0");
  if (strata.first) {
    if (static_cast<int64_t>(strata.second) != n) rxb::ThrowRx(env, "RX_ARG", "strata must have n entries");
    p->strata = strata.first;
    int mx = 0;
    for (std::size_t i = 0; i < strata.second; ++i) {
      if (strata.first[i] < 0) rxb::ThrowRx(env, "RX_ARG", "strata codes must be >= 0");
      mx = std::max(mx, strata.first[i] + 1);
    }
    p->numStrata = mx;
  }
  return p;
}

Napi::Value TrainForest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto data = ReadData(env, info[0]);
    auto y = F64(env, info[1], "y");
    auto w = F64(env, info[2], "weights");
    if (!info[3].IsObject()) Bad(env, "params", "object", info[3]);
    Napi::Object o = info[3].As<Napi::Object>();
    auto strata = I32(env, info.Length() > 4 ? info[4] : env.Undefined(), "strata", true);
    if (static_cast<int64_t>(y.second) != data->d.n || static_cast<int64_t>(w.second) != data->d.n)
      rxb::ThrowRx(env, "RX_ARG", "y and weights must have n entries");
    auto p = ReadForestParams(env, o, strata, data->d.n);
    p->nTrees = static_cast<int>(NumProp(env, o, "nTrees", 10));
    p->computeOob = BoolProp(env, o, "computeOob", true);
    double totalTrees = NumProp(env, o, "totalTrees", p->nTrees);
    p->grow = ReadGrow(env, o);
    auto res = std::make_shared<rx::ensemble::Result>();
    const double* yp = y.first;
    const double* wp = w.first;
    std::vector<Napi::Value> keep{info[0], info[1], info[2]};
    if (strata.first) keep.push_back(info[4]);
    return rxb::RunAsync(
        env, [data, p, res, yp, wp]() { *res = rx::ensemble::train_forest(data->d, yp, wp, *p); },
        [res, totalTrees](Napi::Env e) -> Napi::Value {
          Flat f;
          for (std::size_t i = 0; i < res->trees.size(); ++i) f.add(res->trees[i], -1, 1.0 / totalTrees);
          Napi::Object o = f.ToJs(e);
          o.Set("oobError", ToF64(e, res->oobError));
          o.Set("oobPred", ToF64(e, res->oobPred));
          return o;
        },
        keep);
  });
}

// Out-of-bag predictions / error by number of trees of a trained forest (trees given as a
// flat model; bags recomputed from the same seed, firstTree and sampling parameters).
Napi::Value ForestOob(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto data = ReadData(env, info[0]);
    auto y = F64(env, info[1], "y");
    auto w = F64(env, info[2], "weights");
    if (!info[3].IsObject()) Bad(env, "model", "object", info[3]);
    if (!info[4].IsObject()) Bad(env, "params", "object", info[4]);
    Napi::Object o = info[4].As<Napi::Object>();
    auto strata = I32(env, info.Length() > 5 ? info[5] : env.Undefined(), "strata", true);
    if (static_cast<int64_t>(y.second) != data->d.n || static_cast<int64_t>(w.second) != data->d.n)
      rxb::ThrowRx(env, "RX_ARG", "y and weights must have n entries");
    auto p = ReadForestParams(env, o, strata, data->d.n);
    std::vector<int> cls;
    std::vector<double> wts;
    auto trees = std::make_shared<std::vector<Tree>>(ReadTrees(env, info[3].As<Napi::Object>(), cls, wts));
    for (const Tree& t : *trees)
      for (std::size_t i = 0; i < t.feature.size(); ++i) {
        if (t.feature[i] >= data->d.p) rxb::ThrowRx(env, "RX_MODEL", "tree model uses a feature beyond p");
        if (t.feature[i] >= 0 && t.catOffset[i] < 0 && t.splitBin[i] < 0)
          rxb::ThrowRx(env, "RX_MODEL", "out-of-bag error needs the model's bin-space splits (splitBin)");
      }
    p->nTrees = static_cast<int>(trees->size());
    auto res = std::make_shared<rx::ensemble::Result>();
    const double* yp = y.first;
    const double* wp = w.first;
    std::vector<Napi::Value> keep{info[0], info[1], info[2]};
    if (strata.first) keep.push_back(info[5]);
    return rxb::RunAsync(
        env, [data, p, res, trees, yp, wp]() { rx::ensemble::forest_oob(data->d, yp, wp, *p, *trees, *res); },
        [res](Napi::Env e) -> Napi::Value {
          Napi::Object o = Napi::Object::New(e);
          o.Set("oobError", ToF64(e, res->oobError));
          o.Set("oobPred", ToF64(e, res->oobPred));
          return o;
        },
        keep);
  });
}

Napi::Value TrainRpart(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto data = ReadData(env, info[0]);
    auto y = F64(env, info[1], "y");
    auto w = F64(env, info[2], "weights");
    if (!info[3].IsObject()) Bad(env, "params", "object", info[3]);
    Napi::Object o = info[3].As<Napi::Object>();
    auto xg = I32(env, info.Length() > 4 ? info[4] : env.Undefined(), "xval groups", true);
    if (static_cast<int64_t>(y.second) != data->d.n || static_cast<int64_t>(w.second) != data->d.n)
      rxb::ThrowRx(env, "RX_ARG", "y and weights must have n entries");
    auto p = std::make_shared<rx::tree::RpartParams>();
    p->method = static_cast<int>(NumProp(env, o, "method", 1));
    p->numClass = static_cast<int>(NumProp(env, o, "numClass", 2));
    p->split = static_cast<int>(NumProp(env, o, "split", 0));
    p->minSplit = static_cast<int>(NumProp(env, o, "minSplit", 20));
    p->minBucket = static_cast<int>(NumProp(env, o, "minBucket", 7));
    p->maxDepth = static_cast<int>(NumProp(env, o, "maxDepth", 30));
    p->cp = NumProp(env, o, "cp", 0.01);
    p->maxUnorderedLevels = static_cast<int>(NumProp(env, o, "maxUnorderedLevels", 32));
    p->maxCompete = static_cast<int>(NumProp(env, o, "maxCompete", 0));
    p->maxSurrogate = static_cast<int>(NumProp(env, o, "maxSurrogate", 0));
    p->useSurrogate = static_cast<int>(NumProp(env, o, "useSurrogate", 2));
    auto cost = F64(env, o.Get("cost"), "cost", true);
    if (cost.first) {
      if (static_cast<int>(cost.second) != data->d.p) rxb::ThrowRx(env, "RX_ARG", "cost must have one entry per predictor");
      for (std::size_t i = 0; i < cost.second; ++i)
        if (!(cost.first[i] > 0)) rxb::ThrowRx(env, "RX_ARG", "cost entries must be > 0");
      p->cost.assign(cost.first, cost.first + cost.second);
    }
    if (p->method == 1) {
      auto pr = F64(env, o.Get("prior"), "prior");
      auto ls = F64(env, o.Get("loss"), "loss");
      if (static_cast<int>(pr.second) != p->numClass || static_cast<int>(ls.second) != p->numClass * p->numClass)
        rxb::ThrowRx(env, "RX_ARG", "prior/loss sizes must match the number of classes");
      p->prior.assign(pr.first, pr.first + pr.second);
      p->loss.assign(ls.first, ls.first + ls.second);
    }
    if (xg.first) {
      if (static_cast<int64_t>(xg.second) != data->d.n) rxb::ThrowRx(env, "RX_ARG", "xval groups must have n entries");
      p->xgroups = xg.first;
      int mx = 0;
      for (std::size_t i = 0; i < xg.second; ++i) mx = std::max(mx, xg.first[i]);
      p->nxval = mx;
    }
    auto res = std::make_shared<rx::tree::RpartResult>();
    const double* yp = y.first;
    const double* wp = w.first;
    std::vector<Napi::Value> keep{info[0], info[1], info[2]};
    if (xg.first) keep.push_back(info[4]);
    return rxb::RunAsync(
        env, [data, p, res, yp, wp]() { *res = rx::tree::train_rpart(data->d, yp, wp, *p); },
        [res](Napi::Env e) -> Napi::Value {
          Flat f;
          f.add(res->tree, -1, 1.0);
          Napi::Object o = f.ToJs(e);
          o.Set("risk", ToF64(e, res->risk));
          o.Set("complexity", ToF64(e, res->complexity));
          o.Set("wt", ToF64(e, res->wt));
          o.Set("yval", ToF64(e, res->yval));
          o.Set("nobs", ToI32(e, res->nobs));
          o.Set("swap", ToU8(e, res->swap));
          o.Set("classWt", ToF64(e, res->classWt));
          o.Set("improve", ToF64(e, res->improve));
          o.Set("cpTable", ToF64(e, res->cpTable));
          o.Set("rootRisk", res->rootRisk);
          o.Set("splitStart", ToI32(e, res->splitStart));
          o.Set("nCompete", ToI32(e, res->nCompete));
          o.Set("nSurrogate", ToI32(e, res->nSurrogate));
          o.Set("lastDir", ToI32(e, res->lastDir));
          o.Set("splitVar", ToI32(e, res->splitVar));
          o.Set("splitNcat", ToI32(e, res->splitNcat));
          o.Set("splitCount", ToI32(e, res->splitCount));
          o.Set("splitCatOffset", ToI32(e, res->splitCatOffset));
          o.Set("splitImprove", ToF64(e, res->splitImprove));
          o.Set("splitIndex", ToF64(e, res->splitIndex));
          o.Set("splitAdj", ToF64(e, res->splitAdj));
          o.Set("catDir", ToI32(e, res->catDir));
          return o;
        },
        keep);
  });
}

// ---- prediction ----
struct PredictJob {
  std::vector<Tree> trees;
  std::vector<int> cls;
  std::vector<double> wts;
  int K = 1;
  int64_t n = 0;
  int p = 0;
  const double* x = nullptr;
  std::vector<double> out;
  void run() {
    std::vector<const Tree*> ptrs;
    for (auto& t : trees) ptrs.push_back(&t);
    out.assign(static_cast<std::size_t>(n) * K, 0.0);
    rx::tree::predict_trees(ptrs, x, n, p, K, wts, cls, out.data());
  }
};

std::shared_ptr<PredictJob> ReadPredict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) Bad(env, "model", "object", info[0]);
  auto job = std::make_shared<PredictJob>();
  job->trees = ReadTrees(env, info[0].As<Napi::Object>(), job->cls, job->wts);
  auto x = F64(env, info[1], "x");
  job->n = rxb::ArgInt(info, 2, "n");
  job->p = static_cast<int>(rxb::ArgInt(info, 3, "p"));
  job->K = static_cast<int>(rxb::ArgInt(info, 4, "outputs"));
  if (static_cast<int64_t>(x.second) < job->n * job->p) rxb::ThrowRx(env, "RX_ARG", "x is shorter than n*p");
  for (const Tree& t : job->trees) {
    for (int f : t.feature)
      if (f >= job->p) rxb::ThrowRx(env, "RX_MODEL", "tree model uses a feature beyond p");
    if (t.K != 1 && t.K != job->K) rxb::ThrowRx(env, "RX_MODEL", "tree model outputs do not match");
  }
  for (int c : job->cls)
    if (c >= job->K) rxb::ThrowRx(env, "RX_MODEL", "tree class index beyond outputs");
  job->x = x.first;
  return job;
}

Napi::Value Predict(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto job = ReadPredict(info);
    return rxb::RunAsync(
        env, [job]() { job->run(); }, [job](Napi::Env e) -> Napi::Value { return ToF64(e, job->out); },
        {info[0], info[1]});
  });
}

Napi::Value PredictSync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return rxb::Guard(env, [&]() -> Napi::Value {
    auto job = ReadPredict(info);
    job->run();
    return ToF64(env, job->out);
  });
}

}  // namespace

RXB_MODULE(tree) {
  exports.Set("treeSketchAdd", Napi::Function::New(env, SketchAdd));
  exports.Set("treeSketchAddMany", Napi::Function::New(env, SketchAddMany));
  exports.Set("treeSketchBins", Napi::Function::New(env, SketchBins));
  exports.Set("treeBinNumeric", Napi::Function::New(env, BinNumeric));
  exports.Set("treeTrainBoost", Napi::Function::New(env, TrainBoost));
  exports.Set("treeTrainForest", Napi::Function::New(env, TrainForest));
  exports.Set("treeForestOob", Napi::Function::New(env, ForestOob));
  exports.Set("treeTrainRpart", Napi::Function::New(env, TrainRpart));
  exports.Set("treePredict", Napi::Function::New(env, Predict));
  exports.Set("treePredictSync", Napi::Function::New(env, PredictSync));
}
