#pragma once

// The engine's three outward interfaces, for files that use more than one: EngineObserver (with its
// event types), DurabilitySink and SlotSink.
#include "run/durabilitysink.h"
#include "run/engineobserver.h"
#include "run/slotsink.h"
