package webtest

// PeopleConfig declares alice, on call now (the fake clock starts Monday 2026-03-30 07:30 UTC)
// for the checkout service, and root, the first admin: the people that tests of accounts,
// invitations and profiles sign in as and page.
const PeopleConfig = `users:
  - {id: alice, name: Alice Martin, time_zone: Europe/Paris, contact_methods: [{type: email, address: alice@example.com}]}
  - {id: root, name: Root, contact_methods: [{type: email, address: root@example.com}]}
schedules:
  - id: ops
    name: Operations
    time_zone: UTC
    layers:
      - name: primary
        rotation: {length: 1w, handoff: "2026-03-30T00:00"}
        users: [alice]
escalation_policies:
  - id: ops-policy
    steps:
      - escalate_after: 10m
        targets: [{schedule: ops}]
services:
  - {id: checkout, name: Checkout, escalation_policy: ops-policy, integrations: [{type: events_v2, key: 0123456789abcdef0123456789abcdef}]}
notifications:
  email:
    smtp: {host: 127.0.0.1, port: 2525, from: nines@example.com, tls: none}
`
