// Every workflow the worker hosts. Users' own workflows may run these as child workflows.
export { jobWorkflow, type JobWorkflowInput, type JobWorkflowResult } from './job.js';
export { arrayJobWorkflow, type ArrayJobInput, type ArrayJobResult } from './array.js';
export { deleteJobWorkflow, deletedJobId } from './delete.js';
export { jobLogsWorkflow, listJobCategoriesWorkflow } from './categories.js';
export * from './definitions.js';
