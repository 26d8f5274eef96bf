#include "common/model/xgb_api.hpp"

#include "common/diag/dlopen.hpp"

#ifndef CDN_XGBOOST_SONAME
#define CDN_XGBOOST_SONAME "libxgboost.so.0"
#endif

namespace cdn::model::xgb {

const Api& api() {
  // A failed load throws out of the initializer, and the next call tries again.
  static const Api table = [] {
    static diag::DlopenLibrary lib(CDN_XGBOOST_SONAME, "libxgboost0");
    Api a{};
#define CDN_XGB_LOAD(name) diag::load_symbol(lib, a.name, #name);
    CDN_XGB_FUNCTIONS(CDN_XGB_LOAD)
#undef CDN_XGB_LOAD
    return a;
  }();
  return table;
}

}  // namespace cdn::model::xgb
