#pragma once

namespace flowdeck {

//! Registers the code-defined examples: the "checksum" task kind and the "code-demo" flow.
void registerExamples();

} // namespace flowdeck
