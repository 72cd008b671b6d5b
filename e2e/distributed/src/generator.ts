// The event generator's library entry, imported in this one place: the suite produces every workload
// with it, and its sent log and expectations are what the checker compares against. The generator is an
// app (it has no npm-scoped alias), and the e2e project is the one layer allowed to depend on apps.
// eslint-disable-next-line @nx/enforce-module-boundaries
export * from '../../../apps/event-generator/src/index';
