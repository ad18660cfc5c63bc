// GOV.UK Frontend components, and live agency status on the lookup page.
// Everything else works without JavaScript.
import { initAll } from '/assets/govuk-frontend.min.js'

document.body.classList.add('js-enabled', 'govuk-frontend-supported')
initAll()

const state = document.getElementById('lookup-state')
if (state && state.dataset.done === 'no') {
  const url = state.dataset.statusUrl
  const poll = async () => {
    try {
      const reply = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      if (reply.ok) {
        const status = await reply.json()
        for (const [agency, text] of Object.entries(status.agencies)) {
          const cell = document.querySelector(`[data-agency="${agency}"]`)
          if (cell && cell.textContent.trim() !== text) cell.textContent = text
        }
        if (status.done) {
          window.location.reload()
          return
        }
      }
    } catch (e) {
      // a dropped poll is retried; the page also has a "check again" link
    }
    window.setTimeout(poll, 1000)
  }
  window.setTimeout(poll, 500)
}
