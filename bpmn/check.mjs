// Checks that each BPMN model given (default: every bpmn/*.bpmn) opens in bpmn.io and Camunda Modeler as
// SpiffWorkflow runs it: bpmn-moddle reads it without a warning (unknown elements, unresolved references),
// every flow node has a shape and every sequence flow an edge in the diagram (the modelers draw nothing
// without them), each flow's ends list it as incoming/outgoing, and no task or intermediate event has two
// incoming flows (a second token would run it twice; an end event may, since ending twice does nothing).
// Prints one line per problem and exits 1 when there is any. Run by `make lint` and tests/test_bpmn_models.py.
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import BpmnModdle from 'bpmn-moddle';

const here = dirname(fileURLToPath(import.meta.url));

/** The problems of one model, as strings. */
async function problemsOf(xml) {
  const moddle = new BpmnModdle();
  let parsed;
  try {
    parsed = await moddle.fromXML(xml, 'bpmn:Definitions');
  } catch (error) {
    return [`does not parse: ${error.message.split('\n')[0]}`];
  }
  const problems = parsed.warnings.map(w => `import warning: ${w.message.split('\n')[0]}`);
  const definitions = parsed.rootElement;

  const drawn = new Set();
  for (const diagram of definitions.diagrams || []) {
    const plane = diagram.plane;
    if (plane?.bpmnElement) drawn.add(plane.bpmnElement);
    for (const element of plane?.planeElement || []) {
      if (element.bpmnElement) drawn.add(element.bpmnElement);
    }
  }

  const nodes = [];
  const flows = [];
  const collect = container => {
    for (const element of container.flowElements || []) {
      if (element.$instanceOf('bpmn:SequenceFlow')) flows.push(element);
      else if (element.$instanceOf('bpmn:FlowNode')) nodes.push(element);
      if (element.flowElements) collect(element);
    }
  };
  const processes = (definitions.rootElements || []).filter(e => e.$instanceOf('bpmn:Process'));
  if (!processes.length) problems.push('no process');
  processes.forEach(collect);

  for (const process of processes) {
    if (!drawn.has(process)) problems.push(`${process.id}: the process has no diagram (BPMNPlane)`);
  }
  for (const node of nodes) {
    if (!drawn.has(node)) problems.push(`${node.id}: no BPMNShape in the diagram`);
    const incoming = node.incoming || [];
    for (const flow of incoming) {
      if (flow.targetRef !== node) problems.push(`${node.id}: lists incoming ${flow.id}, whose target is another`);
    }
    for (const flow of node.outgoing || []) {
      if (flow.sourceRef !== node) problems.push(`${node.id}: lists outgoing ${flow.id}, whose source is another`);
    }
    const joinsSilently = node.$instanceOf('bpmn:Activity') ||
      (node.$instanceOf('bpmn:Event') && !node.$instanceOf('bpmn:EndEvent'));
    if (joinsSilently && incoming.length > 1) {
      problems.push(`${node.id}: ${incoming.length} incoming flows without a gateway (it would run once per token)`);
    }
  }
  for (const flow of flows) {
    if (!drawn.has(flow)) problems.push(`${flow.id}: no BPMNEdge in the diagram`);
    if (!flow.sourceRef || !flow.targetRef) {
      problems.push(`${flow.id}: without a source or a target`);
      continue;
    }
    if (!(flow.sourceRef.outgoing || []).includes(flow)) {
      problems.push(`${flow.id}: not among the outgoing flows of its source ${flow.sourceRef.id}`);
    }
    if (!(flow.targetRef.incoming || []).includes(flow)) {
      problems.push(`${flow.id}: not among the incoming flows of its target ${flow.targetRef.id}`);
    }
  }
  return problems;
}

async function main(paths) {
  if (!paths.length) {
    paths = (await readdir(here)).filter(name => name.endsWith('.bpmn')).sort().map(name => join(here, name));
  }
  let failed = false;
  for (const path of paths) {
    const problems = await problemsOf(await readFile(path, 'utf-8'));
    for (const problem of problems) console.log(`${path}: ${problem}`);
    if (problems.length) failed = true;
    else console.log(`${path}: ok`);
  }
  if (!paths.length) {
    console.log(`no .bpmn file in ${basename(here)}/`);
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}

await main(process.argv.slice(2));
