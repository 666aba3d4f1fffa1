#include "flow/taskkind.h"
#include "kinds/approvalkind.h"
#include "kinds/basickinds.h"
#include "kinds/blockingkinds.h"
#include "kinds/flowkind.h"
#include "kinds/httpkind.h"
#include "kinds/shellkind.h"

namespace flowdeck {

// Declared beside TaskKindRegistry (flow/taskkind.h), which adds the built-ins on first use.
void registerBuiltinKinds(TaskKindRegistry& registry)
{
    registry.add(makeNoopKind());
    registry.add(makeSleepKind());
    registry.add(makeBlockingKind());
    registry.add(makeLoopBlockKind());
    registry.add(makeShellKind());
    registry.add(makeHttpKind());
    registry.add(makeFailKind());
    registry.add(makeApprovalKind());
    registry.add(makeFlowKind());
}

} // namespace flowdeck
