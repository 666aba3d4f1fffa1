#include "help/helpdialog.h"

#include <QDialogButtonBox>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace flowdeck {

HelpDialog::HelpDialog(const QList<HelpShortcut>& shortcuts, QWidget* parent)
    : QDialog(parent)
    , m_browser(new QTextBrowser(this))
{
    setObjectName(QStringLiteral("helpDialog"));
    setWindowTitle(tr("Flowdeck Help"));
    m_browser->setObjectName(QStringLiteral("helpBrowser"));
    m_browser->setOpenExternalLinks(false);
    m_browser->setHtml(helptext::documentHtml(shortcuts));
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_browser, 1);
    layout->addWidget(buttons);
    // Fits a 900x600 window; the text wraps and scrolls.
    resize(640, 520);
}

HelpDialog::~HelpDialog() = default;

QString HelpDialog::plainText() const
{
    return m_browser->toPlainText();
}

} // namespace flowdeck
