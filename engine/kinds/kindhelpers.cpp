#include "kinds/kindhelpers.h"

namespace flowdeck::detail {

FieldSpec field(const char16_t* name, FieldType type, bool required, std::optional<double> min,
                std::optional<double> max, const char16_t* help)
{
    return FieldSpec{QString::fromUtf16(name), type, required, min, max, QString::fromUtf16(help)};
}

} // namespace flowdeck::detail
