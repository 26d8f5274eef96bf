// valijson's error messages read for cdn validate: the keyword each is about, and which
// only repeat that a subschema failed. Internal to common/schema (valijson_engine.cpp).
#pragma once

#include <string>

namespace cdn::schema {

// The keyword a valijson message is about, from its wording (valijson 1.0's messages, and the
// ones above); "" when the message does not say. `property` gets the missing property of
// required and dependencies.
std::string keyword_of(const std::string& m, int draft, std::string& property);

// Messages valijson adds on the way out of a subschema that failed, after the errors that say
// why: dropped, unless nothing else was said.
bool propagation_only(const std::string& m);

}  // namespace cdn::schema
