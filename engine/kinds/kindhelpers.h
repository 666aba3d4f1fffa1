#pragma once

#include "flow/taskkind.h"
#include "run/clock.h" // secondsText

#include <QString>

#include <optional>

namespace flowdeck::detail {

// Helpers the built-in kinds share.

//! A field spec in one line: fields(), min and max are inclusive bounds for numbers.
FieldSpec field(const char16_t* name, FieldType type, bool required = false, std::optional<double> min = {},
                std::optional<double> max = {}, const char16_t* help = u"");

} // namespace flowdeck::detail
