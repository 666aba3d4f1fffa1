#include "concurrencypage.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

namespace flowdeck {

ConcurrencyPage::ConcurrencyPage(QWidget* parent)
    : QWidget(parent)
{
    setObjectName(QStringLiteral("concurrencyPage"));
    auto* label
        = new QLabel(tr("<h3>Tag concurrency limits are coming</h3>"
                        "<p>This page will list one row per tag: its limit, the slots in use, the task "
                        "runs waiting, and a usage bar. Limits will be edited here and in Settings, and "
                        "selecting a tag will show the task runs holding and waiting for its slots.</p>"
                        "<p>Tags are not limited in this build: tagged task runs start as soon as they "
                        "are ready.</p>"),
                     this);
    label->setWordWrap(true);
    label->setAlignment(Qt::AlignCenter);
    // No alignment flag on the label in its layout: a word-wrapped label then gets its full height.
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(label, 3);
    row->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addStretch(1);
    layout->addLayout(row);
    layout->addStretch(2);
}

ConcurrencyPage::~ConcurrencyPage() = default;

} // namespace flowdeck
