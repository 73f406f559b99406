// Every workflow the worker hosts. Users' own workflows may run these as child workflows.
export * from './job.js';
