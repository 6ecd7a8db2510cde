/**
 * The failure converter for encrypted namespaces: a failure's message and stack trace go into `encodedAttributes`
 * (a payload, so the codec encrypts it) and history shows "Encoded failure". Loaded by path
 * (`DataConverter.failureConverterPath`): the Worker bundles it into the workflow sandbox, so this module imports
 * @temporalio/common only.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
