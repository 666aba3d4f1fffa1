#include "flow.h"

namespace flowdeck {

int FlowDefinition::indexOf(const QString& taskId) const
{
    for (int i = 0; i < tasks.size(); ++i) {
        if (tasks.at(i).id == taskId)
            return i;
    }
    return -1;
}

} // namespace flowdeck
