/** Labels and the annotation every adapter object carries (spec §6 step 4); a nodepool adapter's objects also name their nodepool. */
export const LABEL_CLUSTER = "hyperfleet.io/cluster-id";
export const LABEL_ADAPTER = "hyperfleet.io/adapter";
export const LABEL_NODEPOOL = "hyperfleet.io/nodepool-id";
export const ANNOTATION_GENERATION = "hyperfleet.io/generation";
