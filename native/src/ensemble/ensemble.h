// Boosting (gradient trees over objectives) and random forests on the histogram engine.
#pragma once
#include <cstdint>
#include <vector>

#include "tree/engine.h"

namespace rx {
namespace ensemble {

// Objectives behind one interface (as LightGBM's objective_function.h).
class Objective {
 public:
  virtual ~Objective() = default;
  virtual int num_outputs() const { return 1; }
  // initial raw score per output from labels and weights
  virtual void init_score(const double* y, const double* w, int64_t n, double* out) const = 0;
  // gradients/hessians (times weights) for rows [b, e): g[k*n + i], h[k*n + i]
  virtual void gradients(const double* y, const double* w, const double* score, int64_t n, int64_t b, int64_t e,
                         double* g, double* h) const = 0;
};
// name: gaussian | bernoulli | multinomial | poisson
Objective* make_objective(const char* name, int numClass);

struct BoostParams {
  int objective = 0;  // 0 gaussian, 1 bernoulli, 2 multinomial, 3 poisson
  int numClass = 1;
  int nTrees = 100;
  double learningRate = 0.1;
  double sampRate = 1;
  uint64_t seed = 1;
  bool haveInit = false;
  std::vector<double> init;  // user init scores (per output)
  bool returnScores = false; // keep the final training raw scores (Result::trainScore)
  tree::GrowParams grow;
};

struct ForestParams {
  int task = 0;  // 0 regression, 1 classification
  int numClass = 2;
  int nTrees = 10;
  double sampRate = 0.632;
  bool replace = true;
  uint64_t seed = 1;
  bool computeOob = true;
  double cutoff = 0.5;  // binary: class 1 when P(class 1) >= cutoff
  int firstTree = 0;  // index of the first tree in the whole forest (seeds and bags follow it)
  const int32_t* strata = nullptr;  // per row stratum (sampling within strata) or null
  int numStrata = 0;
  tree::GrowParams grow;
};

struct Result {
  std::vector<tree::Tree> trees;
  std::vector<int> treeClass;   // boosting: output index of each tree; forest: -1
  std::vector<double> init;     // boosting init score per output
  std::vector<double> oobError; // forest: OOB error (misclassification or MSE) after each tree
  std::vector<double> oobPred;  // forest: n*K OOB mean prediction (NaN when never out of bag)
  std::vector<double> trainLoss;// boosting: training loss after each iteration
  std::vector<double> trainScore;// boosting (returnScores): n*K raw training scores after the last tree
};

Result train_boost(const tree::Data& d, const double* y, const double* w, const BoostParams& p);
Result train_forest(const tree::Data& d, const double* y, const double* w, const ForestParams& p);
// Out-of-bag predictions and error by number of trees for trees [p.firstTree, p.firstTree + trees.size())
// of a forest trained with the same parameters (fills res.oobPred and res.oobError).
void forest_oob(const tree::Data& d, const double* y, const double* w, const ForestParams& p,
                const std::vector<tree::Tree>& trees, Result& res);

}  // namespace ensemble
}  // namespace rx
