// XGBoost's C API, loaded on first use (see diag::DlopenLibrary): `api().XGBoosterCreate(...)`
// calls XGBoosterCreate. The prototypes are those of xgboost/c_api.h.
#pragma once

#include <xgboost/c_api.h>

namespace cdn::model::xgb {

#define CDN_XGB_FUNCTIONS(X)             \
  X(XGBoostVersion)                      \
  X(XGBGetLastError)                     \
  X(XGBRegisterLogCallback)              \
  X(XGDMatrixCreateFromDense)            \
  X(XGProxyDMatrixCreate)                \
  X(XGProxyDMatrixSetDataDense)          \
  X(XGQuantileDMatrixCreateFromCallback) \
  X(XGDMatrixCreateFromCallback)         \
  X(XGDMatrixNumRow)                     \
  X(XGDMatrixSetFloatInfo)               \
  X(XGDMatrixSetStrFeatureInfo)          \
  X(XGDMatrixFree)                       \
  X(XGBoosterCreate)                     \
  X(XGBoosterFree)                       \
  X(XGBoosterSetParam)                   \
  X(XGBoosterGetAttr)                    \
  X(XGBoosterSetAttr)                    \
  X(XGBoosterGetNumFeature)              \
  X(XGBoosterGetStrFeatureInfo)          \
  X(XGBoosterBoostedRounds)              \
  X(XGBoosterSlice)                      \
  X(XGBoosterSaveModelToBuffer)          \
  X(XGBoosterLoadModelFromBuffer)        \
  X(XGBoosterPredictFromDense)           \
  X(XGBoosterPredictFromDMatrix)         \
  X(XGBoosterUpdateOneIter)              \
  X(XGBoosterEvalOneIter)                \
  X(XGBoosterFeatureScore)               \
  X(XGBoosterSaveJsonConfig)             \
  X(XGCommunicatorInit)                  \
  X(XGCommunicatorFinalize)              \
  X(XGCommunicatorGetRank)               \
  X(XGCommunicatorGetWorldSize)          \
  X(XGCommunicatorAllreduce)

struct Api {
#define CDN_XGB_FIELD(name) decltype(&::name) name;
  CDN_XGB_FUNCTIONS(CDN_XGB_FIELD)
#undef CDN_XGB_FIELD
};

// The functions of libxgboost, which is opened the first time; throws RuntimeError (naming
// the library and the Debian package to install) when it cannot be.
const Api& api();

}  // namespace cdn::model::xgb
